import pino from "pino";
import type { RunDataPort } from "../data-plane/run-data.js";
import { describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun, ready, started, withSpec, withStatus } from "../../test/fixtures/builders.js";
import { MemoryKube } from "../../test/support/memory-kube.js";
import { Kinds, type ComputeTarget, type RunConfiguration, type TrainingRun } from "../api/v1alpha1/index.js";
import { lazyRegistry, operatorProviders, registryOf } from "../providers/registry.js";
import type { ProviderEntry, RunExecutor } from "../providers/types.js";
import { TerminalError, TransientError } from "../runtime/errors.js";
import type { ReconcileContext } from "../runtime/result.js";
import { computeTargetController } from "./compute-target/controller.js";
import { runConfigurationController } from "./run-configuration/controller.js";
import { trainingRunController } from "./training-run/controller.js";

// Every error a controller meets (gather, observe, act, cleanup) ends as a condition with a reason,
// then the queue retries (transient) or waits for a change (terminal); never silence until a resync.

const now = new Date("2025-01-01T00:10:00Z");
const clock = { now: () => now.getTime() };
const rctx = (): ReconcileContext => ({ log: pino({ level: "silent" }), reconcileId: "r", signal: new AbortController().signal });
const key = { namespace: "ns", name: "run" };
const cond = (obj: { status?: { conditions?: { type: string; reason: string }[] } } | undefined, type: string) => obj?.status?.conditions?.find((c) => c.type === type);

const compute: ProviderEntry["compute"] = { ensure: async () => ({ ready: { status: "True", reason: "Ready", message: "" } }), release: async () => ({ done: true }) };
function executor(overrides: Partial<RunExecutor>): RunExecutor {
  return {
    decodeHandle: (raw) => raw,
    submit: async () => ({ jobName: "j" }),
    observe: async () => ({ state: "Running" }),
    cancel: async () => undefined,
    cleanup: async () => undefined,
    ...overrides,
  };
}
const entryWith = (ex: RunExecutor): ProviderEntry => ({ compute, executor: ex, validate: () => undefined });

/** A source that is always stored already: these tests are about the controller's error paths, not the store. */
const runData: RunDataPort = {
  resolveSource: async () => ({ snapshot: { digest: `sha256:${"0".repeat(64)}`, files: 1, bytes: 1 } }),
  storage: async () => ({
    runnerEnv: async () => ({}), runnerUrl: async () => "", location: "aml-runs/ns/run/attempt-1/",
    store: undefined as never, prefix: "ns/run/attempt-1/", digest: `sha256:${"0".repeat(64)}`,
  }),
  verdict: async () => undefined,
  deleteRun: async () => 0,
  warm: () => undefined,
};

function runWorld(run: TrainingRun, ex: RunExecutor): { kube: MemoryKube; reconcile: () => Promise<unknown> } {
  const kube = new MemoryKube();
  kube.put(Kinds.ComputeTarget, aComputeTarget(ready("True")));
  kube.put(Kinds.RunConfiguration, { metadata: { name: "cfg", namespace: "ns" }, spec: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1 } });
  kube.put(Kinds.TrainingRun, run);
  const spec = trainingRunController({ kube, providers: registryOf({ Local: entryWith(ex) }), clock, runData });
  return { kube, reconcile: () => spec.reconcile(key, rctx()) };
}
const runOf = (kube: MemoryKube) => kube.get<TrainingRun>(Kinds.TrainingRun, key);

describe("TrainingRun error paths", () => {
  it("a terminal error from submit fails the run with the provider's reason, Succeeded=False and a completionTime", async () => {
    const { kube, reconcile } = runWorld(aTrainingRun(), executor({ submit: async () => { throw new TerminalError("the API server refused the Job: name too long", "InvalidSpec"); } }));
    await expect(reconcile()).rejects.toThrow(TerminalError);
    const run = runOf(kube);
    expect(run?.status?.phase).toBe("Failed");
    expect(cond(run, "Succeeded")).toMatchObject({ status: "False", reason: "InvalidSpec", message: expect.stringContaining("name too long") });
    expect(run?.status?.completionTime).toBeDefined();
  });

  it("an error from observe becomes a condition on the run, and the queue retries", async () => {
    const active = aTrainingRun(started(new Date(now.getTime() - 5_000)), withStatus({ snapshotDigest: "sha256:x", environmentHash: "h", runId: "exp_1" }));
    const { kube, reconcile } = runWorld(active, executor({ observe: async () => { throw new TransientError("vm.example:22 refused the connection", undefined, { reason: "Unreachable" }); } }));
    await expect(reconcile()).rejects.toThrow(TransientError);
    const run = runOf(kube);
    expect(run?.status?.phase).toBe("Running");
    expect(cond(run, "Succeeded")).toMatchObject({ status: "Unknown", reason: "Unreachable", message: expect.stringContaining("refused") });
  });

  it("a Local run whose ComputeTarget is deleted mid-run is followed to its real end (its Job belongs to the run)", async () => {
    const active = aTrainingRun(started(new Date(now.getTime() - 5_000)), withStatus({ snapshotDigest: "sha256:x", environmentHash: "h", runId: "exp_1", execution: { attempt: 1, handle: { jobName: "j" } } }));
    let state: "Running" | "Succeeded" = "Running";
    const ex = { ...executor({ observe: async (a) => ({ state, ...(a.target.metadata.name === "local" ? {} : { message: "wrong target" }) }) }), observesWithoutTarget: true };
    const { kube, reconcile } = runWorld(active, ex);
    await kube.delete(Kinds.ComputeTarget, { namespace: "ns", name: "local" });
    await reconcile();
    expect(runOf(kube)?.status?.phase).toBe("Running");
    state = "Succeeded";
    await reconcile();
    expect(runOf(kube)?.status?.phase).toBe("Completed");
    expect(cond(runOf(kube), "Succeeded")).toMatchObject({ status: "True" });
  });

  it("a run whose executor needs the deleted target keeps its phase and says it cannot be observed, instead of failing on a guess", async () => {
    const active = aTrainingRun(started(new Date(now.getTime() - 5_000)), withStatus({ snapshotDigest: "sha256:x", environmentHash: "h", runId: "exp_1", execution: { attempt: 1, handle: { jobName: "j" } } }));
    const { kube, reconcile } = runWorld(active, executor({}));
    await kube.delete(Kinds.ComputeTarget, { namespace: "ns", name: "local" });
    await reconcile();
    expect(runOf(kube)?.status?.phase).toBe("Running");
    expect(cond(runOf(kube), "Succeeded")).toMatchObject({ status: "Unknown", reason: "ComputeTargetNotFound", message: expect.stringContaining("cannot be observed") });
  });

  it("a cleanup error after success never changes the finished run's phase", async () => {
    const completed = aTrainingRun(withSpec({ ttlSecondsAfterFinished: 60 }), started(new Date(now.getTime() - 600_000)), withStatus({
      phase: "Completed", completionTime: new Date(now.getTime() - 120_000).toISOString(),
      conditions: [{ type: "Succeeded", status: "True", reason: "Completed", message: "the script exited 0", lastTransitionTime: "2025-01-01T00:00:00Z" }],
    }));
    const { kube, reconcile } = runWorld(completed, executor({ cleanup: async () => { throw new TerminalError("not allowed to delete the job", "AuthorizationFailed"); } }));
    await expect(reconcile()).rejects.toThrow(TerminalError);
    const run = runOf(kube);
    expect(run?.status?.phase).toBe("Completed");
    expect(cond(run, "Succeeded")).toMatchObject({ status: "True", reason: "Completed" });
    expect(cond(run, "ResourcesReleased")).toMatchObject({ status: "False", reason: "AuthorizationFailed" });
  });

  it("a run whose own overrides ask what the target cannot do fails before submit with the provider's reason", async () => {
    let submitted = 0;
    const ex = executor({ submit: async () => { submitted++; return {}; } });
    const { kube } = runWorld(aTrainingRun(), ex);
    const entry: ProviderEntry = { ...entryWith(ex), validate: () => ({ reason: "UnsupportedOnTarget", message: "no PySpark here" }) };
    const spec = trainingRunController({ kube, providers: registryOf({ Local: entry }), clock, runData });
    await spec.reconcile(key, rctx());
    expect(submitted).toBe(0);
    expect(cond(runOf(kube), "Succeeded")).toMatchObject({ status: "False", reason: "UnsupportedOnTarget" });
  });
});

describe("ComputeTarget error paths", () => {
  const targetKey = { namespace: "ns", name: "vm" };
  const vm = (mods: (t: ComputeTarget) => ComputeTarget = (t) => t): ComputeTarget => mods(aComputeTarget((t) => ({ ...t, metadata: { ...t.metadata, name: "vm" }, spec: { ...t.spec, type: "RemoteVM" } })));

  it("an unexpected error from a non-Azure provider is not reported as AzureError", async () => {
    const kube = new MemoryKube();
    kube.put(Kinds.ComputeTarget, vm());
    const entry: ProviderEntry = { compute: { ...compute, ensure: async () => { throw new Error("ssh2 exploded"); } }, validate: () => undefined };
    const spec = computeTargetController({ kube, providers: registryOf({ RemoteVM: entry }), clock });
    await expect(spec.reconcile(targetKey, rctx())).rejects.toThrow("ssh2 exploded");
    const ready = cond(kube.get<ComputeTarget>(Kinds.ComputeTarget, targetKey), "Ready");
    expect(ready).toMatchObject({ status: "False", message: expect.stringContaining("ssh2 exploded") });
    expect(ready?.reason).not.toBe("AzureError");
  });

  it("an error while releasing a deleted target becomes a condition, and the queue retries", async () => {
    const kube = new MemoryKube();
    kube.put(Kinds.ComputeTarget, vm((t) => ({ ...t, metadata: { ...t.metadata, finalizers: ["amlcompute.dev/finalizer"], deletionTimestamp: now.toISOString() } })));
    const entry: ProviderEntry = { compute: { ...compute, release: async () => { throw new TransientError("ARM unreachable", undefined, { reason: "Unreachable" }); } }, validate: () => undefined };
    const spec = computeTargetController({ kube, providers: registryOf({ RemoteVM: entry }), clock });
    await expect(spec.reconcile(targetKey, rctx())).rejects.toThrow(TransientError);
    expect(cond(kube.get<ComputeTarget>(Kinds.ComputeTarget, targetKey), "Ready")).toMatchObject({ status: "False", reason: "Unreachable" });
  });
});

describe("RunConfiguration error paths", () => {
  const rcKey = { namespace: "ns", name: "cfg" };
  const hdi = aComputeTarget(ready("True"), (t) => ({ ...t, spec: { ...t.spec, type: "HDInsight" } }));

  it("HDInsight refuses a systemManaged environment at validation: Ready=False with the provider's reason", async () => {
    const kube = new MemoryKube();
    kube.put(Kinds.ComputeTarget, hdi);
    kube.put(Kinds.RunConfiguration, { metadata: { ...rcKey }, spec: { computeTargetRef: { name: "local" }, framework: "PySpark", nodeCount: 1, processCountPerNode: 1, environment: { systemManaged: { pipPackages: ["six"] } } } });
    await runConfigurationController({ kube, providers: operatorProviders(), clock }).reconcile(rcKey, rctx());
    expect(cond(kube.get<RunConfiguration>(Kinds.RunConfiguration, rcKey), "Ready")).toMatchObject({ status: "False", reason: "UnsupportedOnTarget" });
  }, 60_000); // the first HDInsight target loads the provider's SDKs (ssh2, Azure)

  it("a provider that cannot load becomes a condition, and the queue retries", async () => {
    const kube = new MemoryKube();
    kube.put(Kinds.ComputeTarget, aComputeTarget(ready("True")));
    kube.put(Kinds.RunConfiguration, { metadata: { ...rcKey }, spec: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1 } });
    const providers = lazyRegistry({ Local: async () => { throw new Error("cannot load module"); } });
    await expect(runConfigurationController({ kube, providers, clock }).reconcile(rcKey, rctx())).rejects.toThrow("cannot load module");
    expect(cond(kube.get<RunConfiguration>(Kinds.RunConfiguration, rcKey), "Ready")).toMatchObject({ status: "False", message: expect.stringContaining("cannot load module") });
  });
});
