import pino from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun } from "../../../test/fixtures/builders.js";
import { MemoryKube } from "../../../test/support/memory-kube.js";
import { Annotations, Labels, runLabelValue } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import { BuiltinKinds, type KubeObject } from "../../kube/types.js";
import { InvalidError } from "../../runtime/errors.js";
import type { Attempt, ProviderContext } from "../types.js";
import { localRunExecutor, type LocalHandle } from "./run-executor.js";

const now = new Date("2025-01-01T00:10:00Z");
const executor = localRunExecutor({ allowedHostPathPrefixes: [] });
const ctxOf = (kube: KubeClient): ProviderContext => ({ kube, log: pino({ level: "silent" }), now, signal: new AbortController().signal, readSecret: async () => undefined });
const run = aTrainingRun();
const handle: LocalHandle = { jobName: "run-job-1", jobCreated: true, submittedAt: now.toISOString() };
const attempt = (h: LocalHandle | undefined = handle): Attempt<LocalHandle> => ({
  run, target: aComputeTarget(), number: 1, handle: h, runId: "exp_1", environmentHash: "h", argv: ["train.py"], interpreterNeeded: true,
  snapshot: { digest: "sha256:x", files: [], totalBytes: 0 },
  // Only runnerEnv is read when a Local Job is built; the store itself is not touched here.
  storage: {
    runnerEnv: async () => ({ AML_SNAPSHOT_DIGEST: "sha256:x" }), location: "aml-runs/ns/run/attempt-1/",
    runnerUrl: async () => "", store: undefined as never, prefix: "ns/run/attempt-1/", digest: "sha256:x",
  },
  config: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1 },
});
const failedJob: KubeObject = {
  metadata: { name: "run-job-1", namespace: "ns" },
  status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] },
};
const podLabels = { [Labels.runUid]: run.metadata.uid ?? "", [Labels.attempt]: "1", [Labels.role]: "run" };
const pod = (terminated: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: "run-job-1-abcde", namespace: "ns", labels: podLabels, ...meta },
  status: { phase: "Failed", containerStatuses: [{ name: "train", state: { terminated } }] },
});

describe("Local executor: attempts that end without the script's verdict", () => {
  it("reports a pod deleted from outside as Lost, not as ScriptFailed with exit 143", async () => {
    const kube = new MemoryKube();
    kube.put(BuiltinKinds.Job, failedJob);
    kube.put(BuiltinKinds.Pod, pod({ exitCode: 143, reason: "Error" }, { deletionTimestamp: now.toISOString() }));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Lost", reason: "Lost", message: expect.stringContaining("deleted") });
    const gone = new MemoryKube();
    gone.put(BuiltinKinds.Job, failedJob);
    expect(await executor.observe(attempt(), ctxOf(gone))).toMatchObject({ state: "Lost" });
  });

  it("carries the runtime's message when the container could not start", async () => {
    const kube = new MemoryKube();
    kube.put(BuiltinKinds.Job, failedJob);
    kube.put(BuiltinKinds.Pod, pod({ exitCode: 128, reason: "StartError", message: 'exec: "python9": executable file not found in $PATH' }));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Failed", reason: "StartError", exitCode: 128, message: expect.stringContaining("python9") });
  });

  it("reports a snapshot the runner refused as its reason, and a script's own exit 86 as the script's failure", async () => {
    const kube = new MemoryKube();
    kube.put(BuiltinKinds.Job, failedJob);
    kube.put(BuiltinKinds.Pod, pod({ exitCode: 86, reason: "Error", message: "SnapshotCorrupt: main.py: sha256 mismatch" }));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({
      state: "Failed", reason: "SnapshotCorrupt", message: "the snapshot was not materialized, the script did not run: main.py: sha256 mismatch",
    });
    kube.put(BuiltinKinds.Pod, pod({ exitCode: 86, reason: "Error" }));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Failed", reason: "ScriptFailed", exitCode: 86 });
  });

  it("creates a namespace's runner ConfigMap once for runs submitted at the same moment", async () => {
    const kube = new MemoryKube();
    const kinds: string[] = [];
    const create = kube.create.bind(kube);
    kube.create = async (kind, obj) => { kinds.push(kind.kind); return create(kind, obj); };
    const inNamespace = (name: string, uid: string): Attempt<LocalHandle> => {
      const a = attempt(undefined);
      return { ...a, run: { ...a.run, metadata: { ...a.run.metadata, namespace: "burst-ns", name, uid } } };
    };
    await Promise.all([inNamespace("a", "uid-a"), inNamespace("b", "uid-b"), inNamespace("c", "uid-c")].map((a) => executor.submit(a, ctxOf(kube))));
    expect(kinds.filter((k) => k === "ConfigMap")).toHaveLength(1);
    expect(kinds.filter((k) => k === "Job")).toHaveLength(3);
  });

  it("turns a Job the API server refuses into a terminal SubmissionFailed that says why", async () => {
    const kube = new MemoryKube();
    kube.create = async () => { throw new InvalidError('Job.batch "x" is invalid: metadata.labels: Invalid value'); };
    await expect(executor.submit(attempt(undefined), ctxOf(kube))).rejects.toMatchObject({ name: "TerminalError", reason: "SubmissionFailed", message: expect.stringContaining("metadata.labels") });
  });
});

describe("names and label values of the objects a run creates", () => {
  it("fit in a label value whatever the run's name, and keep the full name in an annotation", async () => {
    const long = `${"a".repeat(70)}.with.dots`;
    expect(runLabelValue("train")).toBe("train");
    expect(runLabelValue(long).length).toBeLessThanOrEqual(63);
    expect(runLabelValue(long)).not.toBe(runLabelValue(`${"a".repeat(70)}.other`));
    const kube = new MemoryKube();
    const a = { ...attempt(undefined), run: { ...run, metadata: { ...run.metadata, name: long } } };
    await executor.submit(a, ctxOf(kube));
    const [job] = kube.list<KubeObject>(BuiltinKinds.Job);
    expect(job?.metadata.name?.length).toBeLessThanOrEqual(63);
    expect(job?.metadata.labels?.[Labels.run]?.length).toBeLessThanOrEqual(63);
    expect(job?.metadata.annotations?.[Annotations.run]).toBe(long);
  });
});

describe("Local executor: what the attempt costs in writes", () => {
  const runningJob: KubeObject = { metadata: { name: "run-job-1", namespace: "ns" }, spec: {}, status: { active: 1 } };
  const withTrain = (state: Record<string, unknown>, phase: string): KubeObject => ({
    metadata: { name: "run-job-1-abcde", namespace: "ns", labels: podLabels }, status: { phase, containerStatuses: [{ name: "train", state }] },
  });
  const at = (ms: number): ProviderContext => ({ ...ctxOf(kube), now: new Date(now.getTime() + ms) });
  let kube: MemoryKube;

  it("succeeds when the script exited 0, before the Job controller marks the Job Complete, and release writes nothing", async () => {
    kube = new MemoryKube();
    kube.put(BuiltinKinds.Job, runningJob);
    kube.put(BuiltinKinds.Pod, withTrain({ terminated: { exitCode: 0 } }, "Succeeded"));
    const patches: string[] = [];
    kube.patchSpec = async (kind) => { patches.push(kind.kind); return {} as never; };
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect(await executor.release?.(attempt(), ctxOf(kube))).toEqual({ done: true });
    expect(patches).toEqual([]);
    // A rank still placed is stopped (suspending its Job).
    kube.put(BuiltinKinds.Pod, withTrain({ waiting: { reason: "ContainerCreating" } }, "Pending"));
    await executor.release?.(attempt(), ctxOf(kube));
    expect(patches).toEqual(["Job"]);
  });

  it("reads a running attempt's output tail at most once per refresh interval, and names the pod only once it runs", async () => {
    kube = new MemoryKube();
    kube.put(BuiltinKinds.Job, runningJob);
    kube.put(BuiltinKinds.Pod, withTrain({ waiting: { reason: "PodInitializing" } }, "Pending"));
    const reads: number[] = [];
    kube.podLogs = async () => { reads.push(1); return "epoch 1\n"; };
    const a = attempt();
    expect(await executor.observe(a, at(0))).toEqual({ state: "Starting", links: { jobName: "run-job-1" }, pollAfterMs: 5_000 });
    kube.put(BuiltinKinds.Pod, withTrain({ running: {} }, "Running"));
    expect(await executor.observe(a, at(0))).toMatchObject({ state: "Running", outputTail: "epoch 1\n", links: { podName: "run-job-1-abcde" } });
    expect((await executor.observe(a, at(29_000))).outputTail).toBeUndefined();
    expect((await executor.observe(a, at(30_000))).outputTail).toBe("epoch 1\n");
    expect(reads).toHaveLength(2);
  });
});

describe("Local executor: an attempt that cannot start says why while it waits, and fails after the bound", () => {
  // Each case has its own executor: the Events it read are remembered per executor.
  let executor = localRunExecutor({ allowedHostPathPrefixes: [] });
  beforeEach(() => { executor = localRunExecutor({ allowedHostPathPrefixes: [] }); });
  const createdAgo = (seconds: number): string => new Date(now.getTime() - seconds * 1000).toISOString();
  const jobOf = (ageSeconds: number): KubeObject => ({ metadata: { name: "run-job-1", namespace: "ns", uid: "job-uid", creationTimestamp: createdAgo(ageSeconds) }, status: { active: 1 } });
  const scheduledPod = (ageSeconds: number): KubeObject => ({
    metadata: { name: "run-job-1-x", namespace: "ns", uid: "pod-uid", labels: podLabels, creationTimestamp: createdAgo(ageSeconds) },
    status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }], containerStatuses: [{ name: "train", state: { waiting: { reason: "ContainerCreating" } } }] },
  });
  const unschedulablePod = (ageSeconds: number): KubeObject => ({
    metadata: { name: "run-job-1-x", namespace: "ns", uid: "pod-uid", labels: podLabels, creationTimestamp: createdAgo(ageSeconds) },
    status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.", lastTransitionTime: createdAgo(ageSeconds) }] },
  });
  const noPriorityClass = { reason: "FailedCreate", message: 'Error creating: pods "run-job-1-" is forbidden: no PriorityClass with name missing was found', lastSeen: createdAgo(5) };
  const failedMount = { reason: "FailedMount", message: 'MountVolume.SetUp failed for volume "runner" : configmap "aml-runner-x" not found', lastSeen: createdAgo(5) };

  it("a Job that cannot create its pod (missing PriorityClass): the Job's FailedCreate while waiting, CannotStart after schedulingTimeoutSeconds", async () => {
    const kube = new MemoryKube();
    kube.warnings.set("job-uid", [noPriorityClass]);
    kube.put(BuiltinKinds.Job, jobOf(20));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Starting", message: expect.stringContaining("FailedCreate: Error creating: pods \"run-job-1-\" is forbidden: no PriorityClass") });
    kube.put(BuiltinKinds.Job, jobOf(301));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Failed", reason: "CannotStart", message: expect.stringMatching(/300s .*no PriorityClass with name missing/) });
  });

  it("a pod that cannot mount a volume: FailedMount while waiting, CannotStart after the bound; no Events are read for a young Job", async () => {
    const kube = new MemoryKube();
    kube.warnings.set("pod-uid", [failedMount]);
    kube.put(BuiltinKinds.Job, jobOf(5));
    kube.put(BuiltinKinds.Pod, scheduledPod(5));
    expect((await executor.observe(attempt(), ctxOf(kube))).message).toBeUndefined();
    kube.put(BuiltinKinds.Job, jobOf(30));
    kube.put(BuiltinKinds.Pod, scheduledPod(30));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Starting", message: expect.stringContaining("FailedMount: MountVolume.SetUp failed") });
    kube.put(BuiltinKinds.Job, jobOf(400));
    kube.put(BuiltinKinds.Pod, scheduledPod(400));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Failed", reason: "CannotStart", message: expect.stringContaining("did not start within 300s") });
  });

  it("lists a pending attempt's Events at most once per refresh, and at once for a pod it has not asked about", async () => {
    const kube = new MemoryKube();
    const asked: string[] = [];
    const list = kube.warningEvents.bind(kube);
    kube.warningEvents = async (namespace, uid) => { asked.push(uid); return list(namespace, uid); };
    kube.warnings.set("pod-uid", [failedMount]);
    kube.put(BuiltinKinds.Job, jobOf(30));
    kube.put(BuiltinKinds.Pod, scheduledPod(30));
    const at = (ms: number): ProviderContext => ({ ...ctxOf(kube), now: new Date(now.getTime() + ms) });
    for (const ms of [0, 5_000, 14_000]) expect((await executor.observe(attempt(), at(ms))).message).toContain("FailedMount");
    expect(asked).toEqual(["pod-uid"]);
    await executor.observe(attempt(), at(15_000));
    expect(asked).toEqual(["pod-uid", "pod-uid"]);
  });

  it("a gang whose rank 0 runs and rank 1 cannot be placed: Running while within the bound, then Unschedulable", async () => {
    const kube = new MemoryKube();
    const gang = (h: LocalHandle | undefined = handle): Attempt<LocalHandle> => {
      const a = attempt(h);
      return { ...a, config: { ...a.config, nodeCount: 2 } };
    };
    const rank0: KubeObject = {
      metadata: { name: "run-job-1-0", namespace: "ns", uid: "rank0-uid", labels: podLabels, annotations: { "batch.kubernetes.io/job-completion-index": "0" }, creationTimestamp: createdAgo(30) },
      status: { phase: "Running", containerStatuses: [{ name: "train", state: { running: {} } }] },
    };
    const rank1 = (ageSeconds: number): KubeObject => {
      const p = unschedulablePod(ageSeconds);
      return { ...p, metadata: { ...p.metadata, name: "run-job-1-1", annotations: { "batch.kubernetes.io/job-completion-index": "1" } } };
    };
    kube.put(BuiltinKinds.Job, jobOf(30));
    kube.put(BuiltinKinds.Pod, rank0);
    kube.put(BuiltinKinds.Pod, rank1(10));
    expect(await executor.observe(gang(), ctxOf(kube))).toMatchObject({ state: "Running", pollAfterMs: 5_000 });
    kube.put(BuiltinKinds.Pod, rank1(301));
    expect(await executor.observe(gang(), ctxOf(kube))).toMatchObject({ state: "Failed", reason: "Unschedulable", message: expect.stringContaining("not scheduled within 300s") });
  });

  it("an unsatisfiable nodeSelector: the scheduler's words while waiting, Unschedulable after the bound (one node too)", async () => {
    const kube = new MemoryKube();
    kube.put(BuiltinKinds.Job, jobOf(30));
    kube.put(BuiltinKinds.Pod, unschedulablePod(30));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Starting", message: expect.stringContaining("didn't match Pod's node affinity/selector") });
    kube.put(BuiltinKinds.Pod, unschedulablePod(301));
    expect(await executor.observe(attempt(), ctxOf(kube))).toMatchObject({ state: "Failed", reason: "Unschedulable", message: expect.stringContaining("not scheduled within 300s") });
  });
});
