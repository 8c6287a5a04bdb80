import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClientImpl } from "../../src/kube/client-node.js";
import { BuiltinKinds, type KubeObject } from "../../src/kube/types.js";
import { ConflictError } from "../../src/runtime/errors.js";
import { Manager } from "../../src/runtime/manager.js";
import { done } from "../../src/runtime/result.js";

/**
 * Runtime + kube layer against the project's real kube-apiserver. CI always has
 * the cluster, so a missing kubeconfig FAILS this suite instead of skipping it.
 */
const KUBECONFIG = process.env.KUBECONFIG ?? resolve(import.meta.dirname, "../../.cluster/kubeconfig");
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const suffix = randomBytes(3).toString("hex");
const ns = `it-runtime-${suffix}`;
const testLabel = { "amlcompute.dev/it": suffix };
const selector = `amlcompute.dev/it=${suffix}`;
const clients: KubeClientImpl[] = [];

const newClient = (identity = "it"): KubeClientImpl => {
  const c = KubeClientImpl.fromFile(KUBECONFIG, { logger, identity, registry: new Registry() });
  clients.push(c);
  return c;
};
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const configMap = (name: string, data: Record<string, string>): KubeObject & { data: Record<string, string> } =>
  ({ metadata: { namespace: ns, name, labels: testLabel }, data });

let admin: KubeClientImpl;

beforeAll(async () => {
  if (!existsSync(KUBECONFIG)) {
    throw new Error(`kubeconfig ${KUBECONFIG} not found: start the cluster with 'make cluster-up' (CI always has it)`);
  }
  admin = newClient("admin");
  await admin.create(BuiltinKinds.Namespace, { metadata: { name: ns, labels: testLabel } });
});

afterAll(async () => {
  for (const c of clients) c.stop();
  await admin?.delete(BuiltinKinds.Namespace, { namespace: "", name: ns });
});

describe("informer against a real API server", () => {
  it("sees create, update and delete of ConfigMaps in a fresh namespace", async () => {
    const kube = newClient();
    const events: string[] = [];
    const informer = kube.watch(BuiltinKinds.ConfigMap, { labelSelector: selector });
    informer.addHandlers({
      add: (o) => events.push(`add ${o.metadata.name}`),
      update: (o) => events.push(`update ${o.metadata.name}`),
      delete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    informer.start();
    expect(await informer.waitForSync(AbortSignal.timeout(10_000))).toBe(true);

    await admin.create(BuiltinKinds.ConfigMap, configMap("watched", { a: "1" }));
    await until("add", () => events.includes("add watched"));
    expect(kube.get(BuiltinKinds.ConfigMap, { namespace: ns, name: "watched" })?.kind).toBe("ConfigMap");

    await admin.patchMetadata(BuiltinKinds.ConfigMap, { namespace: ns, name: "watched" }, { annotations: { touched: "yes" } });
    await until("update", () => events.includes("update watched"));
    expect(kube.list(BuiltinKinds.ConfigMap, { namespace: ns, labels: testLabel })[0]?.metadata.annotations?.touched).toBe("yes");

    await admin.delete(BuiltinKinds.ConfigMap, { namespace: ns, name: "watched" });
    await until("delete", () => events.includes("delete watched"));
    expect(kube.get(BuiltinKinds.ConfigMap, { namespace: ns, name: "watched" })).toBeUndefined();
    expect(informer.lastWatchActivity).toBeGreaterThan(0);
    expect(kube.requestCounts().byVerbAndKind).toMatchObject({ "list ConfigMap": 1, "watch ConfigMap": 1 });
  });
});

describe("writes against a real API server", () => {
  it("server-side applies a ConfigMap to create and then update it, counting exactly two patches", async () => {
    const kube = newClient();
    const created = await kube.apply(BuiltinKinds.ConfigMap, configMap("applied", { a: "1" }));
    expect(created.metadata.uid).toBeTruthy();
    const updated = await kube.apply<KubeObject & { data?: Record<string, string> }>(
      BuiltinKinds.ConfigMap, configMap("applied", { a: "2", b: "3" }));
    expect(updated.metadata.uid).toBe(created.metadata.uid);
    expect(updated.data).toEqual({ a: "2", b: "3" });
    const live = await kube.read<KubeObject & { metadata: { managedFields?: Array<{ manager: string }> } }>(
      BuiltinKinds.ConfigMap, { namespace: ns, name: "applied" });
    expect(live?.metadata.managedFields?.map((f) => f.manager)).toContain("aml-compute-operator");
    expect(kube.requestCounts().byVerbAndKind).toEqual({ "patch ConfigMap": 2, "get ConfigMap": 1 });
  });

  it("create of an existing name throws ConflictError with alreadyExists", async () => {
    await admin.apply(BuiltinKinds.ConfigMap, configMap("dupe", {}));
    const err = await admin.create(BuiltinKinds.ConfigMap, configMap("dupe", {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).alreadyExists).toBe(true);
  });

  it("updateStatus with a stale resourceVersion throws ConflictError; with the current one it succeeds", async () => {
    const key = { namespace: "", name: ns };
    const stale = await admin.read(BuiltinKinds.Namespace, key);
    if (!stale) throw new Error("namespace missing");
    await admin.patchMetadata(BuiltinKinds.Namespace, key, { annotations: { bump: "1" } });
    const err = await admin.updateStatus(BuiltinKinds.Namespace, stale).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).alreadyExists).toBe(false);
    const current = await admin.read(BuiltinKinds.Namespace, key);
    await expect(admin.updateStatus(BuiltinKinds.Namespace, current as KubeObject)).resolves.toBeTruthy();
  });

  it("patchMetadata with a stale resourceVersion precondition throws ConflictError", async () => {
    const cm = await admin.apply(BuiltinKinds.ConfigMap, configMap("guarded", {}));
    await admin.patchMetadata(BuiltinKinds.ConfigMap, { namespace: ns, name: "guarded" }, { labels: { x: "1" } });
    await expect(admin.patchMetadata(BuiltinKinds.ConfigMap, { namespace: ns, name: "guarded" },
      { finalizers: ["amlcompute.dev/test"] }, cm.metadata.resourceVersion)).rejects.toBeInstanceOf(ConflictError);
  });

  it("records an events.k8s.io/v1 Event about an object", async () => {
    const target = await admin.apply(BuiltinKinds.ConfigMap, configMap("evented", {}));
    admin.recordEvent(target, "Normal", "Tested", "Recorded by the integration suite");
    const watcher = newClient();
    const events = watcher.watch(BuiltinKinds.Event);
    events.start();
    await until("event", () => watcher.list<KubeObject & { reason?: string; reportingController?: string }>(
      BuiltinKinds.Event, { namespace: ns }).some((e) => e.reason === "Tested" && e.reportingController === "amlcompute.dev/operator"));
  });
});

describe("leader election between two managers", () => {
  it("only the leader reconciles; after it stops, the standby takes over within a bound", async () => {
    const lease = { namespace: ns, name: "runtime-it", leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };
    const reconciled: Record<string, string[]> = { a: [], b: [] };
    const manager = (identity: "a" | "b"): Manager => new Manager({
      kube: newClient(identity), logger, metricsRegistry: new Registry(), shutdownTimeoutMs: 5_000,
      leaderElection: { ...lease, identity },
    }).add({
      name: "configmap-it", forKind: BuiltinKinds.ConfigMap, labelSelectors: { ConfigMap: selector },
      reconcile: async (key) => {
        reconciled[identity]?.push(key.name);
        return done();
      },
    });
    const a = manager("a");
    const b = manager("b");
    const runA = a.start();
    await until("a leads", () => a.isLeader());
    const runB = b.start();
    await until("b synced", () => b.readiness().ok);
    await admin.apply(BuiltinKinds.ConfigMap, configMap("led-by-a", {}));
    await until("a reconciles", () => reconciled.a?.includes("led-by-a") ?? false);
    expect(b.isLeader()).toBe(false);
    expect(reconciled.b).toEqual([]);

    await a.stop();
    await runA;
    const released = Date.now();
    const leaseObj = await admin.read<KubeObject<{ holderIdentity?: string }>>(BuiltinKinds.Lease, { namespace: ns, name: "runtime-it" });
    expect(leaseObj?.spec?.holderIdentity ?? "").not.toBe("a");
    await until("b leads", () => b.isLeader(), 10_000);
    // Released leases are free at once: the bound is the retry period plus jitter, not the lease duration.
    expect(Date.now() - released).toBeLessThan(lease.leaseDurationMs);
    await until("b reconciles", () => reconciled.b?.includes("led-by-a") ?? false);
    await b.stop();
    await runB;
  });
});
