import pino from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun, ready } from "../../../test/fixtures/builders.js";
import { MemoryKube } from "../../../test/support/memory-kube.js";
import { Kinds, Labels, type TrainingRun } from "../../api/v1alpha1/index.js";
import type { DeleteOptions, MetadataPatch } from "../../kube/client.js";
import { BuiltinKinds, type KubeObject, type ObjectKey, type ResourceKind } from "../../kube/types.js";
import type { RunDataPort } from "../../data-plane/run-data.js";
import { operatorProviders } from "../../providers/registry.js";
import type { ReconcileContext } from "../../runtime/result.js";
import { trainingRunController } from "./controller.js";

// Every write one Local run costs the API server, counted exactly: the real controller and Local
// executor against an in-memory API, driven through the object changes Kubernetes makes (Job
// created, pod scheduled, init container, script running, exited, Job Complete), one reconcile per
// change as the watches trigger them. test/e2e/run-api-writes.test.ts counts the same on a cluster.

/** MemoryKube that counts every write by verb and kind ("create Job", "update TrainingRun"...). */
class CountingKube extends MemoryKube {
  readonly writes = new Map<string, number>();
  private count(what: string): void {
    this.writes.set(what, (this.writes.get(what) ?? 0) + 1);
  }
  override async create<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    this.count(`create ${kind.kind}`);
    return super.create(kind, obj);
  }
  override async updateStatus<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    this.count(`update ${kind.kind}`);
    return super.updateStatus(kind, obj);
  }
  override async patchMetadata<T extends KubeObject>(kind: ResourceKind, key: ObjectKey, patch: MetadataPatch): Promise<T> {
    this.count(`patch ${kind.kind}`);
    return super.patchMetadata(kind, key, patch);
  }
  override async patchSpec<T extends KubeObject>(kind: ResourceKind, key: ObjectKey, spec: Record<string, unknown>): Promise<T> {
    this.count(`patch ${kind.kind}`);
    return super.patchSpec(kind, key, spec);
  }
  override async delete(kind: ResourceKind, key: ObjectKey, opts?: DeleteOptions): Promise<void> {
    this.count(`delete ${kind.kind}`);
    return super.delete(kind, key, opts);
  }
  override recordEvent(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    this.count("create Event");
    super.recordEvent(obj, type, reason, message);
  }
  take(): Record<string, number> {
    const out = Object.fromEntries(this.writes);
    this.writes.clear();
    return out;
  }
}

const now = new Date("2025-01-01T00:10:00Z");
const rctx = (): ReconcileContext => ({ log: pino({ level: "silent" }), reconcileId: "r", signal: new AbortController().signal });
const digest = `sha256:${"0".repeat(64)}`;
/** The store is not the subject here: a source already stored, and a runner that reported nothing. */
const runData: RunDataPort = {
  resolveSource: async () => ({ snapshot: { digest, files: 1, bytes: 1 } }),
  storage: async (run, attempt) => ({
    runnerEnv: async () => ({ AML_SNAPSHOT_URL: "http://127.0.0.1/s", AML_OUTPUT_URL: "http://127.0.0.1/o" }), runnerUrl: async () => "",
    location: `aml-runs/ns/${run.metadata.name}/attempt-${attempt}/`, store: undefined as never, prefix: "", digest,
  }),
  verdict: async () => undefined,
  deleteRun: async () => 0,
  warm: () => undefined,
};
const total = (w: Record<string, number>): number => Object.values(w).reduce((a, b) => a + b, 0);

let kube: CountingKube;
let reconcile: (name: string) => Promise<unknown>;

beforeEach(() => {
  kube = new CountingKube();
  kube.put(Kinds.ComputeTarget, aComputeTarget(ready("True")));
  kube.put(Kinds.RunConfiguration, { metadata: { name: "cfg", namespace: "ns" }, spec: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1 } });
  const spec = trainingRunController({ kube, providers: operatorProviders(), clock: { now: () => now.getTime() }, runData });
  reconcile = (name) => spec.reconcile({ namespace: "ns", name }, rctx());
});

/** What the kubelet reports as the pod goes: one step per watch event the controller receives. */
const podSteps = {
  pending: {},
  scheduled: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }] },
  creating: {
    phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }],
    containerStatuses: [{ name: "train", state: { waiting: { reason: "ContainerCreating" } } }],
  },
  running: {
    phase: "Running",
    containerStatuses: [{ name: "train", state: { running: { startedAt: now.toISOString() } } }],
  },
  ready: {
    phase: "Running", conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [{ name: "train", state: { running: { startedAt: now.toISOString() } } }],
  },
  exited: {
    phase: "Succeeded",
    containerStatuses: [{ name: "train", state: { terminated: { exitCode: 0, finishedAt: now.toISOString() } } }],
  },
};

/** Apply → Completed for one run, with a reconcile after each change the watches report. */
async function lifecycle(name: string, uid: string): Promise<void> {
  kube.put(Kinds.TrainingRun, aTrainingRun((r) => ({ ...r, metadata: { ...r.metadata, name, uid } })));
  await reconcile(name); // submit
  await reconcile(name); // the watch event of its own status write
  const [job] = kube.list<KubeObject>(BuiltinKinds.Job, { labels: { [Labels.runUid]: uid } });
  if (!job) throw new Error("no Job was created");
  await reconcile(name); // the Job's add event
  const labels = { ...job.metadata.labels, [Labels.runUid]: uid, [Labels.attempt]: "1" };
  for (const status of Object.values(podSteps)) {
    kube.put(BuiltinKinds.Pod, { metadata: { name: `${job.metadata.name}-abcde`, namespace: "ns", labels }, status });
    await reconcile(name);
    await reconcile(name); // and any write's own event
  }
  kube.put(BuiltinKinds.Job, { ...job, status: { conditions: [{ type: "Complete", status: "True" }], succeeded: 1 } });
  await reconcile(name);
  expect(kube.get<TrainingRun>(Kinds.TrainingRun, { namespace: "ns", name })?.status?.phase).toBe("Completed");
}

describe("API writes of one Local run", () => {
  it("costs exactly 6 writes from apply to Completed (the namespace's runner ConfigMap once more), and 1 to delete", async () => {
    await lifecycle("first", "00000000-0000-0000-0000-000000000001");
    const first = kube.take();
    await lifecycle("second", "00000000-0000-0000-0000-000000000002");
    const second = kube.take();
    // The finalizer (the run's outputs in the store go with it), the attempt's store Secret, the
    // Job, and three status writes: submitted (Starting), Running, Completed with its release.
    expect(second).toEqual({ "patch TrainingRun": 1, "create Secret": 1, "create Job": 1, "update TrainingRun": 3 });
    expect(total(second)).toBe(6);
    expect(first).toEqual({ ...second, "create ConfigMap": 1 });

    const run = kube.get<TrainingRun>(Kinds.TrainingRun, { namespace: "ns", name: "second" });
    expect(run?.status).toMatchObject({ execution: { released: true }, links: { podName: expect.any(String), jobName: expect.any(String) } });
    // Deleting it: the finalizer comes off; the garbage collector deletes what the run owns.
    kube.put(Kinds.TrainingRun, { ...run!, metadata: { ...run!.metadata, deletionTimestamp: now.toISOString() } });
    await reconcile("second");
    expect(kube.take()).toEqual({ "patch TrainingRun": 1 });
  });
});

describe("a retry", () => {
  it("starts the next attempt in one status write that already shows it Starting, and records a Retrying Event", async () => {
    const uid = "00000000-0000-0000-0000-000000000003";
    kube.put(Kinds.TrainingRun, aTrainingRun((r) => ({ ...r, metadata: { ...r.metadata, name: "retried", uid }, spec: { ...r.spec, backoffLimit: 1 } })));
    await reconcile("retried");
    const [job] = kube.list<KubeObject>(BuiltinKinds.Job, { labels: { [Labels.runUid]: uid } });
    const labels = { ...job!.metadata.labels, [Labels.runUid]: uid, [Labels.attempt]: "1" };
    kube.put(BuiltinKinds.Pod, { metadata: { name: `${job!.metadata.name}-abcde`, namespace: "ns", labels }, status: { phase: "Failed", containerStatuses: [{ name: "train", state: { terminated: { exitCode: 1 } } }] } });
    kube.put(BuiltinKinds.Job, { ...job!, status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] } });
    kube.take();
    await reconcile("retried");
    expect(kube.take()).toEqual({ "create Secret": 1, "create Job": 1, "update TrainingRun": 1, "create Event": 1 });
    expect(kube.events.map((e) => e.reason)).toEqual(["Retrying"]);
    expect(kube.get<TrainingRun>(Kinds.TrainingRun, { namespace: "ns", name: "retried" })?.status).toMatchObject({ phase: "Starting", attempts: 2, execution: { attempt: 2 } });
  });
});
