import { describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun, ready, started, withSpec, withStatus } from "../../../test/fixtures/builders.js";
import type { RunObservation } from "../../providers/types.js";
import { decideRun, formatDuration, type RunWorld } from "./decide.js";

const now = new Date("2025-01-01T00:10:00Z");
const minus = (ms: number): Date => new Date(now.getTime() - ms);
const config = { computeTargetRef: { name: "local" }, framework: "Python" as const, nodeCount: 1, processCountPerNode: 1 };
const snapshot = { digest: "sha256:abc", files: [{ path: "train.py", content: "print(1)" }], totalBytes: 8 };

function world(extra: Partial<RunWorld> = {}): RunWorld {
  return { now, runId: "exp_1", config, target: aComputeTarget(ready("True")), snapshot, environmentHash: "h", ...extra };
}
const observed = (obs: RunObservation): Partial<RunWorld> => ({ observation: obs });
const succeeded = (plan: ReturnType<typeof decideRun>) => plan.status.conditions?.find((c) => c.type === "Succeeded");

describe("decideRun", () => {
  it.each([
    ["submits attempt 1 once the target is Ready", aTrainingRun(), world(), "Submit", "Preparing", ["Unknown", "Preparing"]],
    ["waits for a target that is not Ready", aTrainingRun(), world({ target: aComputeTarget(ready("False", "Unreachable", "no route")) }), "None", "Queued", ["Unknown", "WaitingForComputeTarget"]],
    ["waits for a missing ComputeTarget", aTrainingRun(), world({ target: undefined }), "None", "Queued", ["Unknown", "ComputeTargetNotFound"]],
    ["waits for a missing RunConfiguration", aTrainingRun(), world({ problem: { reason: "RunConfigurationNotFound", message: "x", terminal: false } }), "None", "Queued", ["Unknown", "RunConfigurationNotFound"]],
    ["fails a source that is too large", aTrainingRun(), world({ problem: { reason: "SourceTooLarge", message: "x", terminal: true } }), "None", "Failed", ["False", "SourceTooLarge"]],
    ["fails fast on a retired target", aTrainingRun(), world({ target: aComputeTarget(ready("False", "TargetRetired", "retired 2024-02-29")) }), "None", "Failed", ["False", "TargetRetired"]],
    ["holds a suspended run in Queued", aTrainingRun(withSpec({ suspend: true })), world(), "None", "Queued", ["Unknown", "Suspended"]],
    ["cancels a run before it started", aTrainingRun(withSpec({ cancel: true })), world(), "None", "Canceled", ["False", "Canceled"]],
    ["follows a running attempt", aTrainingRun(started(minus(5_000))), world(observed({ state: "Running", outputTail: "epoch 1" })), "None", "Running", ["Unknown", "Running"]],
    ["completes when the attempt succeeded", aTrainingRun(started(minus(5_000))), world(observed({ state: "Succeeded", exitCode: 0 })), "None", "Completed", ["True", "Completed"]],
    ["fails with ScriptFailed when the only attempt exits 3", aTrainingRun(started(minus(5_000))), world(observed({ state: "Failed", exitCode: 3 })), "None", "Failed", ["False", "ScriptFailed"]],
    ["re-submits attempt 2 after attempt 1 failed when backoffLimit is 1", aTrainingRun(withSpec({ backoffLimit: 1 }), started(minus(5_000))), world(observed({ state: "Failed", exitCode: 1 })), "Submit", "Queued", ["Unknown", "Retrying"]],
    ["fails after the last allowed attempt", aTrainingRun(withSpec({ backoffLimit: 1 }), started(minus(5_000), 2)), world(observed({ state: "Failed", exitCode: 1 })), "None", "Failed", ["False", "ScriptFailed"]],
    ["does not retry an environment that failed to build", aTrainingRun(withSpec({ backoffLimit: 3 }), started(minus(5_000))), world(observed({ state: "Failed", reason: "EnvironmentFailed" })), "None", "Failed", ["False", "EnvironmentFailed"]],
    ["does not retry a snapshot the runner refused (the same bytes again)", aTrainingRun(withSpec({ backoffLimit: 3 }), started(minus(5_000))), world(observed({ state: "Failed", reason: "SnapshotCorrupt", message: "nothing was run" })), "None", "Failed", ["False", "SnapshotCorrupt"]],
    ["fails with DeadlineExceeded once activeDeadlineSeconds has passed", aTrainingRun(withSpec({ activeDeadlineSeconds: 60 }), started(minus(61_000))), world(observed({ state: "Running" })), "Cancel", "Failed", ["False", "DeadlineExceeded"]],
    ["cancels an active attempt on spec.cancel", aTrainingRun(withSpec({ cancel: true }), started(minus(5_000))), world(observed({ state: "Running" })), "Cancel", "Canceled", ["False", "Canceled"]],
    ["continues a submission whose environment is built", aTrainingRun(started(minus(5_000))), world(observed({ state: "Preparing", continueSubmit: true })), "ContinueSubmit", "Preparing", ["Unknown", "Preparing"]],
    ["keeps the phase of an active run whose attempt cannot be observed (its target was deleted)", aTrainingRun(started(minus(5_000))), world({ target: undefined, problem: { reason: "ComputeTargetNotFound", message: "deleted", terminal: false } }), "None", "Running", ["Unknown", "ComputeTargetNotFound"]],
    ["retries a lost attempt within backoffLimit", aTrainingRun(withSpec({ backoffLimit: 1 }), started(minus(5_000))), world(observed({ state: "Lost" })), "Submit", "Queued", ["Unknown", "Retrying"]],
  ])("%s", (_name, run, w, action, phase, [status, reason]) => {
    const plan = decideRun(run, w);
    expect(plan.action.kind).toBe(action);
    expect(plan.status.phase).toBe(phase);
    expect(succeeded(plan)).toMatchObject({ status, reason });
  });

  it("snapshots the configuration, digest and environment hash at the first submit", () => {
    const plan = decideRun(aTrainingRun(), world());
    expect(plan.status).toMatchObject({ runConfiguration: config, snapshotDigest: "sha256:abc", environmentHash: "h", attempts: 1, target: "local", targetType: "Local" });
  });

  it("polls no later than the deadline", () => {
    const plan = decideRun(aTrainingRun(withSpec({ activeDeadlineSeconds: 60 }), started(minus(58_000))), world(observed({ state: "Running", pollAfterMs: 10_000 })));
    expect(plan.requeueAfterMs).toBe(2_000);
  });

  it("cleans up ttlSecondsAfterFinished after completion, once", () => {
    const finished = aTrainingRun(withSpec({ ttlSecondsAfterFinished: 60 }), withStatus({ phase: "Completed", completionTime: minus(61_000).toISOString(), execution: { attempt: 1 } }));
    expect(decideRun(finished, world()).action.kind).toBe("Cleanup");
    const cleaned = aTrainingRun(withSpec({ ttlSecondsAfterFinished: 60 }), withStatus({ phase: "Completed", completionTime: minus(61_000).toISOString(), execution: { attempt: 1, cleanedUp: true } }));
    expect(decideRun(cleaned, world()).action.kind).toBe("None");
    const early = aTrainingRun(withSpec({ ttlSecondsAfterFinished: 60 }), withStatus({ phase: "Completed", completionTime: minus(30_000).toISOString(), execution: { attempt: 1 } }));
    expect(decideRun(early, world()).requeueAfterMs).toBe(30_000);
  });

  it("releases a finished run, then shows the outputs the executor copied (AmlCompute's artifact store)", () => {
    const ended = withStatus({ phase: "Completed", completionTime: minus(2_000).toISOString(), execution: { attempt: 1, handle: { jobName: "j" } } });
    const release = decideRun(aTrainingRun(ended), { ...world(), executorReleases: true, executorCollectsOutputs: true });
    expect(release.action.kind).toBe("Release");
    expect(release.requeueAfterMs).toBeGreaterThan(0);
    expect(release.status.execution?.released).toBe(true);
    const outputs = { attempt: 1, location: "aml-runs/ns/r-u/attempt-1/outputs/", files: 1, bytes: 3 };
    const released = aTrainingRun(withStatus({ ...release.status }));
    const shown = decideRun(released, { ...world(), executorReleases: true, verdict: { outputs }, awaitingOutputs: true });
    expect(shown.status.outputs).toEqual(outputs);
    expect(decideRun(released, { ...world(), executorReleases: true, awaitingOutputs: true }).requeueAfterMs).toBeGreaterThan(0);
  });

  it("releases in the same write that finishes the run, with the unreleased status for a release still in progress", () => {
    const plan = decideRun(aTrainingRun(started(minus(5_000))), world({ ...observed({ state: "Succeeded", exitCode: 0 }), executorReleases: true, releasesWithFinish: true }));
    expect(plan.action.kind).toBe("Release");
    expect(plan.status).toMatchObject({ phase: "Completed", execution: { released: true } });
    expect(plan.status.conditions?.find((c) => c.type === "ResourcesReleased")).toMatchObject({ status: "True", reason: "Released" });
    expect(plan.statusWhileReleasing).toMatchObject({ phase: "Completed", execution: { attempt: 1 } });
    expect(plan.statusWhileReleasing?.execution?.released).toBeUndefined();
    // A retry releases before the next submit, in the Submit action itself.
    const retry = decideRun(aTrainingRun(withSpec({ backoffLimit: 1 }), started(minus(5_000))), world({ ...observed({ state: "Failed", exitCode: 1 }), executorReleases: true }));
    expect(retry.action).toEqual({ kind: "Submit", attempt: 2 });
    // An executor that collects outputs on release (AmlCompute) finishes first and releases after.
    const collecting = decideRun(aTrainingRun(started(minus(5_000))), world({ ...observed({ state: "Succeeded", exitCode: 0 }), executorReleases: true }));
    expect(collecting.action.kind).toBe("None");
    expect(collecting.status.execution?.released).toBeUndefined();
  });

  it("keeps lastTransitionTime of a condition whose status did not change", () => {
    const first = decideRun(aTrainingRun(started(minus(5_000))), world(observed({ state: "Running" })));
    const later = new Date(now.getTime() + 30_000);
    const run = aTrainingRun(started(minus(5_000)), withStatus(first.status));
    const second = decideRun(run, { ...world(observed({ state: "Running", outputTail: "more" })), now: later });
    expect(succeeded(second)?.lastTransitionTime).toBe(succeeded(first)?.lastTransitionTime);
  });

  it.each([[5_000, "5s"], [125_000, "2m5s"], [3_720_000, "1h2m"]])("formats %i ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
