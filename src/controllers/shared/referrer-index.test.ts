import pino from "pino";
import { describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun } from "../../../test/fixtures/builders.js";
import { MemoryKube } from "../../../test/support/memory-kube.js";
import { Kinds, type ComputeTarget } from "../../api/v1alpha1/index.js";
import { BuiltinKinds, type KubeObject } from "../../kube/types.js";
import { registryOf } from "../../providers/registry.js";
import type { ProviderEntry } from "../../providers/types.js";
import type { ReconcileContext } from "../../runtime/result.js";
import { computeTargetController } from "../compute-target/controller.js";
import { secretsReferencedBy } from "../compute-target/references.js";
import { trainingRunController } from "../training-run/controller.js";
import { ReferenceIndex } from "./referrer-index.js";

const rctx = (): ReconcileContext => ({ log: pino({ level: "silent" }), reconcileId: "r", signal: new AbortController().signal });
const secret = (namespace: string, name: string): KubeObject => ({ metadata: { namespace, name } });

describe("ReferenceIndex", () => {
  it("maps a referenced name to the objects naming it, per namespace, and follows changes and deletions", () => {
    const index = new ReferenceIndex();
    index.record({ namespace: "a", name: "t1" }, ["creds", "hosts"]);
    index.record({ namespace: "a", name: "t2" }, ["creds"]);
    index.record({ namespace: "b", name: "t3" }, ["creds"]);
    expect(index.referrersOf(secret("a", "creds")).map((k) => k.name).sort()).toEqual(["t1", "t2"]);
    expect(index.referrersOf(secret("b", "creds"))).toEqual([{ namespace: "b", name: "t3" }]);
    index.record({ namespace: "a", name: "t1" }, ["other"]);
    expect(index.referrersOf(secret("a", "hosts"))).toEqual([]);
    expect(index.referrersOf(secret("a", "other"))).toEqual([{ namespace: "a", name: "t1" }]);
    index.forget({ namespace: "a", name: "t2" });
    index.record({ namespace: "a", name: "t1" }, []);
    expect(index.referrersOf(secret("a", "creds"))).toEqual([]);
    expect(index.size).toBe(1);
  });
});

const remoteVm = (t: ComputeTarget): ComputeTarget => ({
  ...t,
  spec: {
    type: "RemoteVM", deletionPolicy: "Delete",
    remoteVM: { address: "127.0.0.1", port: 22, username: "u", credentialsSecretRef: { name: "ssh-creds" }, hostKey: { knownHostsSecretRef: { name: "hosts", key: "known_hosts" } }, workDir: ".aml", maxConcurrentRuns: 1 },
  },
});

describe("Secrets and ConfigMaps wake the objects waiting for them", () => {
  it("names every Secret a target's spec refers to", () => {
    expect(secretsReferencedBy(aComputeTarget(remoteVm))).toEqual(["hosts", "ssh-creds"]);
    expect(secretsReferencedBy(aComputeTarget())).toEqual([]);
  });

  it("a Secret event maps to the targets that named it when they were last reconciled (metadata-only watch)", async () => {
    const kube = new MemoryKube();
    kube.put(Kinds.ComputeTarget, aComputeTarget(remoteVm));
    const compute: ProviderEntry["compute"] = { ensure: async () => ({ ready: { status: "False", reason: "SecretNotFound", message: "" } }), release: async () => ({ done: true }) };
    const spec = computeTargetController({ kube, providers: registryOf({ RemoteVM: { compute, validate: () => undefined } }), clock: { now: () => 0 } });
    const watch = spec.watches?.find((w) => w.kind === BuiltinKinds.Secret);
    expect(watch?.metadataOnly).toBe(true);
    expect(watch?.map(secret("ns", "ssh-creds"))).toEqual([]);
    await spec.reconcile({ namespace: "ns", name: "local" }, rctx());
    expect(watch?.map(secret("ns", "ssh-creds"))).toEqual([{ namespace: "ns", name: "local" }]);
    expect(watch?.map(secret("other", "ssh-creds"))).toEqual([]);
    await kube.delete(Kinds.ComputeTarget, { namespace: "ns", name: "local" });
    await spec.reconcile({ namespace: "ns", name: "local" }, rctx());
    expect(watch?.map(secret("ns", "ssh-creds"))).toEqual([]);
  });

  it("a target event wakes runs still waiting to start, never runs that already ended before starting", () => {
    const kube = new MemoryKube();
    kube.put(Kinds.TrainingRun, aTrainingRun());
    kube.put(Kinds.TrainingRun, aTrainingRun((r) => ({ ...r, metadata: { ...r.metadata, name: "failed-early" }, status: { phase: "Failed" } })));
    const spec = trainingRunController({ kube, providers: registryOf({}), clock: { now: () => 0 }, runData: { warm: () => undefined } as never });
    const watch = spec.watches?.find((w) => w.kind === Kinds.ComputeTarget);
    expect(watch?.map(aComputeTarget())).toEqual([{ namespace: "ns", name: "run" }]);
  });

  it("a ConfigMap event maps to the runs whose source names it, until they start", async () => {
    const kube = new MemoryKube();
    kube.put(Kinds.TrainingRun, aTrainingRun((r) => ({ ...r, spec: { ...r.spec, source: { configMap: { name: "code" } } } })));
    const runData = { resolveSource: async () => ({ problem: { reason: "SourceNotFound", message: "ConfigMap code not found", terminal: false, retryAfterMs: 30_000 } }) } as never;
    const spec = trainingRunController({ kube, providers: registryOf({}), clock: { now: () => 0 }, runData });
    const watch = spec.watches?.find((w) => w.kind === BuiltinKinds.ConfigMap);
    expect(watch?.metadataOnly).toBe(true);
    await spec.reconcile({ namespace: "ns", name: "run" }, rctx()).catch(() => undefined);
    expect(watch?.map({ metadata: { namespace: "ns", name: "code" } })).toEqual([{ namespace: "ns", name: "run" }]);
  });
});
