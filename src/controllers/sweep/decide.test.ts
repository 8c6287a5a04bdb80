import { describe, expect, it } from "vitest";
import { Annotations, type Sweep, type SweepSpec, type TrainingRun } from "../../api/v1alpha1/index.js";
import { decideSweep, decideSweepError, type SweepWorld } from "./decide.js";

const NOW = new Date("2026-11-28T10:00:00Z");

function sweep(over: Partial<SweepSpec> = {}, status?: Sweep["status"]): Sweep {
  return {
    metadata: { name: "lr", namespace: "ns", uid: "sweep-uid", generation: 1 },
    spec: {
      trialTemplate: { experimentName: "e", source: { inline: { files: [{ path: "t.py", content: "" }] } }, script: "t.py", arguments: ["--epochs", "5"], runConfigurationRef: { name: "rc" }, backoffLimit: 0 },
      parameters: [{ name: "lr", type: "uniform", min: 0, max: 1 }],
      parameterPassing: "Arguments", samplingAlgorithm: "Random", bayesianSampler: "TPE",
      primaryMetric: { name: "loss", goal: "Minimize" }, maxTrials: 4, maxConcurrentTrials: 2, cancel: false, suspend: false,
      ...over,
    } as SweepSpec,
    ...(status ? { status } : {}),
  };
}

/** A trial TrainingRun as the API would hold it, built from the sweep's own plan. */
function trialRun(s: Sweep, index: number, phase?: string, metric?: { value: number; count: number }, annotations: Record<string, string> = {}): TrainingRun {
  const { status: _ignored, ...fresh } = s;
  const plain = { ...fresh, spec: { ...s.spec, maxConcurrentTrials: 100, maxTrials: 100, cancel: false, suspend: false } };
  const base = decideSweep(plain, world()).create[index]!;
  return {
    ...base,
    metadata: { ...base.metadata, name: `lr-${index}`, labels: { ...base.metadata.labels, "amlcompute.dev/trial-index": String(index) }, annotations: { ...base.metadata.annotations, ...annotations } },
    status: {
      ...(phase ? { phase: phase as never } : {}),
      ...(metric ? { metrics: { latest: [{ name: "loss", value: metric.value, step: metric.count - 1, count: metric.count, mean: metric.value }] } } : {}),
    },
  };
}

const world = (over: Partial<SweepWorld> = {}): SweepWorld => ({ now: NOW, runs: [], templateEnvironment: {}, ...over });
const cond = (status: Sweep["status"]) => status?.conditions?.find((c) => c.type === "Succeeded");

describe("decideSweep", () => {
  it("starts maxConcurrentTrials trials with deterministic names, owners and parameters", () => {
    const plan = decideSweep(sweep(), world());
    expect(plan.create.map((r) => r.metadata.name)).toEqual(["lr-0", "lr-1"]);
    const trial = plan.create[0]!;
    expect(trial.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Sweep", uid: "sweep-uid", controller: true });
    expect(trial.spec.primaryMetric).toBe("loss");
    expect(trial.spec.arguments?.slice(0, 3)).toEqual(["--epochs", "5", "--lr"]);
    expect(decideSweep(sweep(), world()).create).toEqual(plan.create);
    expect(plan.status).toMatchObject({ phase: "Running", trialCounts: { total: 0 }, startTime: NOW.toISOString() });
  });

  it("adopts a trial created before a crash instead of creating it again", () => {
    const s = sweep();
    const plan = decideSweep(s, world({ runs: [trialRun(s, 0)] }));
    expect(plan.create.map((r) => r.metadata.name)).toEqual(["lr-1"]);
    expect(plan.status.trials?.map((t) => t.name)).toEqual(["lr-0"]);
  });

  it("passes parameters as environment variables on top of the RunConfiguration's", () => {
    const plan = decideSweep(sweep({ parameterPassing: "Environment" }), world({ templateEnvironment: { KEEP: "1" } }));
    const env = plan.create[0]?.spec.runConfiguration?.environmentVariables;
    expect(env?.KEEP).toBe("1");
    expect(Number(env?.LR)).toBeGreaterThanOrEqual(0);
    expect(plan.create[0]?.spec.arguments).toEqual(["--epochs", "5"]);
  });

  it("completes with the best trial once every trial has ended, and says which ended without the metric", () => {
    const s = sweep({ maxTrials: 3 });
    const runs = [trialRun(s, 0, "Completed", { value: 0.5, count: 3 }), trialRun(s, 1, "Completed", { value: 0.2, count: 3 }), trialRun(s, 2, "Completed")];
    const plan = decideSweep(s, world({ runs }));
    expect(plan.create).toEqual([]);
    expect(plan.status.phase).toBe("Completed");
    expect(plan.status.bestTrial).toMatchObject({ name: "lr-1", metric: 0.2 });
    expect(plan.status.trials?.[2]?.message).toBe("ended without reporting loss");
    expect(cond(plan.status)).toMatchObject({ status: "True", reason: "Completed" });
  });

  it("fails with NoTrialReportedMetric when no trial reported the primary metric, instead of waiting", () => {
    const s = sweep({ maxTrials: 2 });
    const plan = decideSweep(s, world({ runs: [trialRun(s, 0, "Completed"), trialRun(s, 1, "Failed")] }));
    expect(plan.status.phase).toBe("Failed");
    expect(cond(plan.status)).toMatchObject({ status: "False", reason: "NoTrialReportedMetric" });
  });

  it("refuses a grid larger than maxTrials before starting anything", () => {
    const plan = decideSweep(sweep({ samplingAlgorithm: "Grid", maxTrials: 2, parameters: [{ name: "lr", type: "choice", values: ["0.1", "0.2", "0.3"] }] }), world());
    expect(plan.create).toEqual([]);
    expect(cond(plan.status)).toMatchObject({ status: "False", reason: "GridLargerThanMaxTrials" });
  });

  it("runs every grid point once and ends when the grid is exhausted below maxTrials", () => {
    const s = sweep({ samplingAlgorithm: "Grid", maxTrials: 10, maxConcurrentTrials: 10, parameters: [{ name: "lr", type: "choice", values: ["0.1", "0.2"] }] });
    const plan = decideSweep(s, world());
    expect(plan.create.map((r) => r.spec.arguments?.slice(-1)[0])).toEqual(["0.1", "0.2"]);
    const done = decideSweep(s, world({ runs: [trialRun(s, 0, "Completed", { value: 1, count: 1 }), trialRun(s, 1, "Completed", { value: 2, count: 1 })] }));
    expect(cond(done.status)?.message).toContain("all 2 grid points ran");
  });

  it("stops a running trial by Bandit and counts it as early terminated afterwards", () => {
    const s = sweep({ maxTrials: 2, earlyTermination: { policy: "Bandit", evaluationInterval: 1, delayEvaluation: 0, slackFactor: 0.1 } });
    const plan = decideSweep(s, world({ runs: [trialRun(s, 0, "Running", { value: 0.1, count: 2 }), trialRun(s, 1, "Running", { value: 0.9, count: 2 })] }));
    expect(plan.stop).toEqual([expect.objectContaining({ name: "lr-1", earlyTermination: true })]);
    expect(plan.status.trials?.[1]?.evaluations).toEqual([0.9, 0.9]);
    const after = decideSweep({ ...s, status: plan.status }, world({ runs: [trialRun(s, 0, "Running", { value: 0.1, count: 2 }), trialRun(s, 1, "Canceled", { value: 0.9, count: 2 }, { [Annotations.stoppedBy]: "Bandit: ..." })] }));
    expect(after.stop).toEqual([]);
    expect(after.status.trialCounts).toMatchObject({ earlyTerminated: 1, running: 1 });
  });

  it("cancels every active trial on spec.cancel and ends Canceled", () => {
    const s = sweep({ cancel: true });
    const plan = decideSweep(s, world({ runs: [trialRun(s, 0, "Running"), trialRun(s, 1, "Completed", { value: 1, count: 1 })] }));
    expect(plan.stop).toEqual([expect.objectContaining({ name: "lr-0", earlyTermination: false })]);
    expect(plan.status.phase).toBe("Canceled");
    expect(cond(plan.status)?.reason).toBe("Canceled");
  });

  it("starts nothing while suspended and resumes afterwards", () => {
    const s = sweep({ suspend: true });
    const plan = decideSweep(s, world({ runs: [trialRun(s, 0, "Running")] }));
    expect(plan.create).toEqual([]);
    expect(plan.status.phase).toBe("Suspended");
    expect(plan.status.conditions?.find((c) => c.type === "Suspended")?.status).toBe("True");
    expect(decideSweep(sweep(), world({ runs: [trialRun(s, 0, "Running")] })).create).toHaveLength(1);
  });

  it("stops active trials when maxDurationSeconds has passed", () => {
    const s = sweep({ maxDurationSeconds: 60 }, { startTime: new Date(NOW.getTime() - 61_000).toISOString() });
    const plan = decideSweep(s, world({ runs: [trialRun(s, 0, "Running"), trialRun(s, 1, "Completed", { value: 0.3, count: 1 })] }));
    expect(plan.stop.map((x) => x.name)).toEqual(["lr-0"]);
    expect(cond(plan.status)).toMatchObject({ status: "True", reason: "MaxDurationReached" });
  });

  it("says SuggestionServiceUnavailable and retries when the optimizer gives nothing", () => {
    const plan = decideSweep(sweep({ samplingAlgorithm: "Bayesian" }), world({ suggestionError: "suggestion process exited (SIGKILL)" }));
    expect(plan.create).toEqual([]);
    expect(cond(plan.status)).toMatchObject({ status: "Unknown", reason: "SuggestionServiceUnavailable" });
    expect(plan.requeueAfterMs).toBeGreaterThan(0);
    const ok = decideSweep(sweep({ samplingAlgorithm: "Bayesian" }), world({ suggestions: [{ lr: "0.25" }, { lr: "0.5" }] }));
    expect(ok.create.map((r) => r.spec.arguments?.slice(-1)[0])).toEqual(["0.25", "0.5"]);
  });

  it("does not forget a trial whose TrainingRun was deleted", () => {
    const s = sweep({}, { trials: [{ name: "lr-0", index: 0, parameters: { lr: "0.1" }, phase: "Running" }] });
    const plan = decideSweep(s, world());
    expect(plan.status.trials?.[0]).toMatchObject({ name: "lr-0", phase: "Canceled", message: "its TrainingRun was deleted" });
    expect(plan.create.map((r) => r.metadata.name)).toEqual(["lr-1", "lr-2"]);
  });

  it("shows an unhandled error through the shared error path: Warning while retrying, Failed when terminal", () => {
    const transient = decideSweepError(sweep(), { reason: "ReconcileError", message: "apiserver hiccup", severity: "Warning", terminal: false }, NOW);
    expect(cond(transient)).toMatchObject({ status: "Unknown", reason: "ReconcileError", severity: "Warning" });
    const terminal = decideSweepError(sweep(), { reason: "TrialRejected", message: "no", severity: "Error", terminal: true }, NOW);
    expect(terminal.phase).toBe("Failed");
    const finished = sweep({}, { phase: "Completed" });
    expect(decideSweepError(finished, { reason: "ReconcileError", message: "x", severity: "Warning", terminal: false }, NOW)).toEqual(finished.status);
  });
});
