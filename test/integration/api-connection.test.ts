import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClientImpl } from "../../src/kube/client-node.js";
import { BuiltinKinds, type KubeObject } from "../../src/kube/types.js";
import { clusterKubeconfig, createNamespace, deleteNamespace, requireCluster } from "../cluster/kubectl.js";

/**
 * The kube layer keeps ONE connection to the real kube-apiserver for every request and watch
 * (HTTP/2 multiplexing), and meters itself with a client-side token bucket. Both are counted, never
 * timed: connections by the transport's own connect events and by the kernel's socket table.
 */
const logger = pino({ level: "silent" });
const apiPort = (): string => {
  const server = /server:\s*(\S+)/.exec(readFileSync(clusterKubeconfig, "utf8"))?.[1] ?? "";
  return new URL(server).port || "443";
};

/** Established TCP connections from this process to the API server port, as `ss` sees them. */
function establishedToApiServer(port: string): number {
  const out = execFileSync("ss", ["-Htnp", "state", "established", "dport", "=", `:${port}`], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(`pid=${process.pid},`)).length;
}

let ns: string;
const clients: KubeClientImpl[] = [];
const client = (opts: { qps: number; burst: number } = { qps: 0, burst: 0 }, registry = new Registry()): KubeClientImpl => {
  const c = KubeClientImpl.fromFile(clusterKubeconfig, { logger, identity: "it-connection", registry, rateLimit: opts, watchNamespace: ns });
  clients.push(c);
  return c;
};
const configMap = (name: string): KubeObject => ({ metadata: { namespace: ns, name }, data: { k: name } } as KubeObject);

beforeAll(async () => {
  await requireCluster();
  ns = await createNamespace("it-connection");
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  if (ns) await deleteNamespace(ns);
});

describe("one pooled connection to the kube-apiserver", () => {
  it("sends 300 concurrent requests and two watches over a single TCP connection", async () => {
    const kube = client();
    const informers = [kube.watch(BuiltinKinds.ConfigMap), kube.watch(BuiltinKinds.Job)];
    informers.forEach((i) => i.start());
    await Promise.all(informers.map((i) => i.waitForSync()));
    await Promise.all(Array.from({ length: 150 }, (_, i) => kube.create(BuiltinKinds.ConfigMap, configMap(`cm-${i}`))));
    await Promise.all(Array.from({ length: 150 }, (_, i) => kube.read(BuiltinKinds.ConfigMap, { namespace: ns, name: `cm-${i}` })));
    const counts = kube.requestCounts();
    expect(counts.byVerbAndKind["create ConfigMap"]).toBe(150);
    expect(counts.byVerbAndKind["get ConfigMap"]).toBe(150);
    expect(counts.total).toBeGreaterThanOrEqual(304);
    expect(kube.connectionsOpened()).toBe(1);
    expect(establishedToApiServer(apiPort())).toBe(1);
    // The watches still work on the shared connection: every create reached the cache.
    expect(kube.list(BuiltinKinds.ConfigMap, { namespace: ns }).filter((c) => c.metadata.name?.startsWith("cm-"))).toHaveLength(150);
  });

  it("holds requests beyond the burst in the client-side token bucket (client-go QPS/Burst)", async () => {
    const registry = new Registry();
    const kube = client({ qps: 50, burst: 10 }, registry);
    await Promise.all(Array.from({ length: 40 }, (_, i) => kube.read(BuiltinKinds.ConfigMap, { namespace: ns, name: `cm-${i}` })));
    const text = await registry.metrics();
    const waited = Number(/^rest_client_rate_limiter_duration_seconds_count (\d+)$/m.exec(text)?.[1]);
    // The first 10 pass at once; the other 30 each waited for a token.
    expect(waited).toBe(30);
    expect(kube.connectionsOpened()).toBe(1);
  });
});
