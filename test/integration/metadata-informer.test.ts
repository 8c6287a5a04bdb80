import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClientImpl } from "../../src/kube/client-node.js";
import { BuiltinKinds, type KubeObject } from "../../src/kube/types.js";

/**
 * A metadata-only informer against the real kube-apiserver: the server sends PartialObjectMetadata,
 * so a Secret's data never reaches the process, and a change of the data still arrives as an update.
 */
const KUBECONFIG = process.env.KUBECONFIG ?? resolve(import.meta.dirname, "../../.cluster/kubeconfig");
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const suffix = randomBytes(3).toString("hex");
const ns = `it-metadata-${suffix}`;
let admin: KubeClientImpl;
let kube: KubeClientImpl;

const until = async (what: string, cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  if (!existsSync(KUBECONFIG)) throw new Error(`kubeconfig ${KUBECONFIG} not found: start the cluster with 'make cluster-up'`);
  admin = KubeClientImpl.fromFile(KUBECONFIG, { logger, identity: "it-admin", registry: new Registry() });
  kube = KubeClientImpl.fromFile(KUBECONFIG, { logger, identity: "it", registry: new Registry(), watchNamespace: ns });
  await admin.create(BuiltinKinds.Namespace, { metadata: { name: ns } });
});

afterAll(async () => {
  kube?.stop();
  await admin?.delete(BuiltinKinds.Namespace, { namespace: "", name: ns });
  admin?.stop();
});

describe("metadata-only informer", () => {
  it("caches Secrets without their data and still sees a data change as an update", async () => {
    const events: string[] = [];
    const informer = kube.watch(BuiltinKinds.Secret, { metadataOnly: true });
    informer.addHandlers({ add: (o) => events.push(`add ${o.metadata.name}`), update: (o) => events.push(`update ${o.metadata.name}`) });
    informer.start();
    expect(await informer.waitForSync(AbortSignal.timeout(10_000))).toBe(true);

    const secret = { metadata: { namespace: ns, name: "late" }, stringData: { password: "s3cret" } } as KubeObject;
    await admin.create(BuiltinKinds.Secret, secret);
    await until("add", () => events.includes("add late"));
    const cached = kube.get<KubeObject & { data?: unknown }>(BuiltinKinds.Secret, { namespace: ns, name: "late" });
    expect(cached?.metadata.name).toBe("late");
    expect(cached?.kind).toBe("Secret");
    expect(cached?.data).toBeUndefined();
    expect(JSON.stringify(cached)).not.toContain(Buffer.from("s3cret").toString("base64"));

    await admin.apply(BuiltinKinds.Secret, { ...secret, stringData: { password: "rotated" } } as KubeObject);
    await until("update", () => events.includes("update late"));
    expect(JSON.stringify(kube.get(BuiltinKinds.Secret, { namespace: ns, name: "late" }))).not.toContain(Buffer.from("rotated").toString("base64"));
  });
});
