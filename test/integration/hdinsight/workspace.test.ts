import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import { attachedComputeName, createHdInsightProvider } from "../../../src/providers/hdinsight/index.js";
import type { ProviderEntry, TargetObservation } from "../../../src/providers/types.js";
import { TransientError } from "../../../src/runtime/errors.js";
import type { SessionPool } from "../../../src/providers/ssh/index.js";
import { startTestSshd, type TestSshd } from "../../support/sshd.js";
import { applyStatus, NS, sleep, startEnv, WS, type Env } from "../azureml/harness.js";
import { credentialsFor } from "../ssh/fixtures.js";
import { ensureSpark, SPARK_SUBMIT } from "./spark-fixture.js";

// HDInsight registered as an attached compute in an Azure ML workspace: the real head node
// stand-in (OpenSSH + real Spark) for the probe, and the ARM emulator (real
// @azure/arm-machinelearning + @azure/identity over HTTPS) for the workspace side.
const CLUSTER = `/subscriptions/${WS.subscriptionId}/resourceGroups/rg-hdi/providers/Microsoft.HDInsight/clusters/spark-hdi`;
const OTHER_CLUSTER = `/subscriptions/${WS.subscriptionId}/resourceGroups/rg-hdi/providers/Microsoft.HDInsight/clusters/someone-elses`;

describe("HDInsight: registration in an Azure ML workspace (ARM emulator)", () => {
  let env: Env;
  let sshd: TestSshd;
  let pool: SessionPool | undefined;
  const entries: (ProviderEntry & { pool: SessionPool })[] = [];

  /** A new provider, as a freshly started operator builds it (fresh Azure clients and caches). */
  function provider(): ProviderEntry & { pool: SessionPool } {
    const e = createHdInsightProvider({ sparkSubmit: SPARK_SUBMIT, sparkMaster: "local[2]", azureml: env.config, ...(pool ? { pool } : {}) });
    pool ??= e.pool;
    entries.push(e);
    return e;
  }

  function target(name: string, mod: (s: NonNullable<ComputeTarget["spec"]["hdInsight"]>) => void = () => undefined): ComputeTarget {
    const t = {
      apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget",
      metadata: { name, namespace: NS, uid: randomUUID(), generation: 1 },
      spec: {
        type: "HDInsight", deletionPolicy: "Delete",
        hdInsight: {
          address: sshd.host, port: sshd.port, username: sshd.user, credentialsSecretRef: { name: "hdi-creds" },
          hostKey: { fingerprint: sshd.fingerprint }, workDir: "hdi-ws-work",
          resourceId: CLUSTER,
          workspace: { subscriptionId: WS.subscriptionId, resourceGroup: WS.resourceGroup, name: WS.name },
        },
      },
      status: {},
    } as ComputeTarget;
    mod(t.spec.hdInsight!);
    return t;
  }

  const computeLog = (name: string, since = 0) => env.emu.controls.requests
    .filter((r) => r.seq > since && r.path.toLowerCase().endsWith(`/workspaces/${WS.name}/computes/${name}`.toLowerCase()));
  const puts = (name: string, since = 0) => computeLog(name, since).filter((r) => r.method === "PUT").length;
  const deletes = (name: string, since = 0) => computeLog(name, since).filter((r) => r.method === "DELETE");
  const lastSeq = () => env.emu.controls.requests.at(-1)?.seq ?? 0;

  /** Plays the controller: ensure(), persist status (JSON round trip), wait requeueAfter. */
  async function reconcileUntil(e: ProviderEntry, t: ComputeTarget, until: (o: TargetObservation) => boolean, timeoutMs = 60_000): Promise<{ obs: TargetObservation; target: ComputeTarget; calls: number }> {
    const deadline = Date.now() + timeoutMs;
    for (let calls = 1; ; calls++) {
      try {
        const obs = await e.compute.ensure(t, env.ctx());
        t = JSON.parse(JSON.stringify(applyStatus(t, obs.status))) as ComputeTarget;
        if (until(obs)) return { obs, target: t, calls };
        await sleep(Math.min(obs.requeueAfterMs ?? 100, 300));
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        await sleep(Math.min(err.retryAfterMs ?? 100, 1000));
      }
      if (Date.now() > deadline) throw new Error(`timed out; status ${JSON.stringify(t.status)}`);
    }
  }

  async function releaseUntilDone(e: ProviderEntry, t: ComputeTarget): Promise<{ target: ComputeTarget; calls: number }> {
    for (let calls = 1; calls < 100; calls++) {
      const r = await e.compute.release(t, env.ctx());
      t = JSON.parse(JSON.stringify(applyStatus(t, r.status))) as ComputeTarget;
      if (r.done) return { target: t, calls };
      await sleep(Math.min(r.requeueAfterMs ?? 100, 300));
    }
    throw new Error("release never finished");
  }

  beforeAll(async () => {
    ensureSpark();
    // Attach/detach take long enough here that an operation is still running on the next call
    // (each ensure() also probes the head node over SSH, spark-submit --version included: ~3 s on a
    // quiet machine, over 5 s under load, so the attach lasts 15 s).
    env = await startEnv({ attachingMs: 15_000, detachingMs: 800 });
    sshd = await startTestSshd();
    env.secrets.set(`${NS}/hdi-creds`, credentialsFor(sshd, "key"));
  }, 600_000);
  afterAll(async () => {
    pool?.closeAll();
    await sshd?.stop();
    await env?.close();
  });

  it("registers the cluster once (GET, one PUT of an attached HDInsight compute, no credentials), Ready after the LRO", async () => {
    const p = provider();
    const t = target("hdi-ws");
    const first = await p.compute.ensure(t, env.ctx());
    expect(first.ready).toMatchObject({ status: "False", reason: "Provisioning" });
    expect(first.status?.operation).toMatchObject({ kind: "create", computeName: "hdi-ws" });
    expect(computeLog("hdi-ws").map((r) => `${r.method} ${r.status}`)).toEqual(["GET 404", "PUT 201"]);

    const { obs, target: done } = await reconcileUntil(p, applyStatus(t, first.status), (o) => o.ready.status === "True");
    expect(obs.ready).toMatchObject({ status: "True", reason: "Attached" });
    expect(obs.ready.message).toContain("Spark 3.5.3");
    expect(obs.ready.message).toContain(`registered as attached compute ${WS.name}/hdi-ws`);
    expect(done.status?.operation).toBeUndefined();
    expect(done.status).toMatchObject({
      provisioningState: "Succeeded",
      resourceId: `/subscriptions/${WS.subscriptionId}/resourceGroups/${WS.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${WS.name}/computes/hdi-ws`,
    });
    expect(puts("hdi-ws")).toBe(1);
    expect(env.emu.controls.count({ method: "GET", path: /computeOperationsStatus/ })).toBeGreaterThan(0);

    const compute = env.emu.controls.compute(WS, "hdi-ws") as { properties: Record<string, unknown> & { properties: Record<string, unknown> } };
    expect(compute.properties).toMatchObject({ computeType: "HDInsight", resourceId: CLUSTER, isAttachedCompute: true, provisioningState: "Succeeded" });
    expect(compute.properties.properties).toEqual({ address: sshd.host, sshPort: sshd.port });

    // Steady state: a later reconcile reads, never re-PUTs.
    const since = lastSeq();
    expect((await p.compute.ensure(done, env.ctx())).ready.status).toBe("True");
    expect(puts("hdi-ws", since)).toBe(0);
  });

  it("operator restarted while attaching: a new provider resumes status.operation, no second PUT", async () => {
    const t = target("hdi-restart");
    const first = await provider().compute.ensure(t, env.ctx());
    expect(first.status?.operation).toMatchObject({ kind: "create", computeName: "hdi-restart" });
    const stored = JSON.parse(JSON.stringify(applyStatus(t, first.status))) as ComputeTarget;

    const after = provider();
    const since = lastSeq();
    const next = await after.compute.ensure(stored, env.ctx());
    expect(next.ready).toMatchObject({ status: "False", reason: "Provisioning" });
    expect(env.emu.controls.count({ since, method: "GET", path: /computeOperationsStatus/ })).toBe(1);
    const r = await reconcileUntil(after, applyStatus(stored, next.status), (o) => o.ready.status === "True");
    expect(r.obs.ready.reason).toBe("Attached");
    expect(puts("hdi-restart")).toBe(1);
    expect(env.emu.controls.count({ since, method: "PUT" })).toBe(0);
  });

  it("a compute of the same name attaching another cluster: AlreadyExists, untouched, and not detached on release", async () => {
    env.emu.controls.seedCompute(WS, "hdi-taken", { computeType: "HDInsight", attached: true, resourceId: OTHER_CLUSTER, properties: { address: "10.0.0.9", sshPort: 22 } });
    const p = provider();
    const t = target("hdi-taken");
    const obs = await p.compute.ensure(t, env.ctx());
    expect(obs.ready).toMatchObject({ status: "False", reason: "AlreadyExists" });
    expect(obs.ready.message).toContain(OTHER_CLUSTER);
    expect(obs.status?.resourceId).toBeUndefined();
    const rel = await p.compute.release(applyStatus(t, obs.status), env.ctx());
    expect(rel.done).toBe(true);
    expect(puts("hdi-taken")).toBe(0);
    expect(deletes("hdi-taken")).toHaveLength(0);
    expect(env.emu.controls.compute(WS, "hdi-taken")).toMatchObject({ properties: { resourceId: OTHER_CLUSTER, provisioningState: "Succeeded" } });
  });

  it("a compute of the same name attaching this cluster is adopted without a PUT", async () => {
    env.emu.controls.seedCompute(WS, "hdi-adopt", { computeType: "HDInsight", attached: true, resourceId: CLUSTER.toUpperCase(), properties: { address: sshd.host, sshPort: sshd.port } });
    const obs = await provider().compute.ensure(target("hdi-adopt"), env.ctx());
    expect(obs.ready).toMatchObject({ status: "True", reason: "Attached" });
    expect(obs.status?.resourceId).toMatch(/\/workspaces\/ws-test\/computes\/hdi-adopt$/);
    expect(puts("hdi-adopt")).toBe(0);
  });

  it("release detaches with exactly one DELETE ?underlyingResourceAction=Detach, resumed across a restart", async () => {
    const { target: ready } = await reconcileUntil(provider(), target("hdi-detach"), (o) => o.ready.status === "True");
    const first = await provider().compute.release(ready, env.ctx());
    expect(first.done).toBe(false);
    expect(first.status?.operation).toMatchObject({ kind: "delete", computeName: "hdi-detach" });
    const { calls } = await releaseUntilDone(provider(), applyStatus(ready, first.status));
    expect(calls).toBeGreaterThan(1);
    const dels = deletes("hdi-detach");
    expect(dels).toHaveLength(1);
    expect(dels[0]!.query).toMatchObject({ underlyingResourceAction: "Detach" });
    expect(env.emu.controls.compute(WS, "hdi-detach")).toBeUndefined();
    // Once gone, another release is a GET only.
    expect((await provider().compute.release(ready, env.ctx())).done).toBe(true);
    expect(deletes("hdi-detach")).toHaveLength(1);
  });

  it("the finalizer only for targets with a workspace; without one nothing goes to ARM", async () => {
    const p = provider();
    const plain = target("hdi-plain", (s) => { delete s.workspace; });
    const needs = p.needsFinalizer as (t: ComputeTarget) => boolean;
    expect(needs(target("hdi-any"))).toBe(true);
    expect(needs(plain)).toBe(false);
    expect(createHdInsightProvider({ pool: p.pool }).needsFinalizer).toSatisfy((f: unknown) => typeof f === "function" && !(f as typeof needs)(target("x")));
    const since = lastSeq();
    const obs = await p.compute.ensure(plain, env.ctx());
    expect(obs.ready).toMatchObject({ status: "True", reason: "Attached" });
    expect(obs.status?.resourceId).toBe(CLUSTER);
    expect((await p.compute.release(plain, env.ctx())).done).toBe(true);
    expect(env.emu.controls.count({ since })).toBe(0);
  });

  it("a workspace without resourceId is an InvalidSpec", async () => {
    await expect(provider().compute.ensure(target("hdi-noid", (s) => { delete s.resourceId; }), env.ctx()))
      .rejects.toMatchObject({ reason: "InvalidSpec" });
  });

  it("derives a valid compute name from a Kubernetes name Azure ML would refuse", () => {
    expect(attachedComputeName("hdi")).toBe("hdi");
    const long = attachedComputeName("spark.cluster-for-the-analytics-team");
    expect(long).toMatch(/^[a-zA-Z][a-zA-Z0-9-]{2,15}$/);
    expect(long).not.toBe(attachedComputeName("spark.cluster-for-the-analytics-team-2"));
    expect(attachedComputeName("1abc")).toMatch(/^c1abc-[a-z]{6}$/);
  });
});
