import { describe, expect, it } from "vitest";
import type { Sweep } from "../api/v1alpha1/index.js";
import { UsageError } from "./commands.js";
import { changes, countsLine, sweepFromManifest, sweepReport } from "./sweep.js";

const manifest = {
  apiVersion: "amlcompute.dev/v1alpha1", kind: "Sweep", metadata: { name: "lr", labels: { team: "a" } },
  spec: {
    trialTemplate: { script: "train.py", runConfigurationRef: { name: "python" }, source: { configMap: { name: "old" } } },
    parameters: [{ name: "learning_rate", type: "loguniform", min: -6, max: -1 }],
    samplingAlgorithm: "Random", primaryMetric: { name: "mse", goal: "Minimize" }, maxTrials: 4,
  },
};

function sweep(status: Sweep["status"]): Sweep {
  return { ...(manifest as unknown as Sweep), metadata: { name: "lr", namespace: "ns" }, status };
}

const counts = (over: Partial<NonNullable<NonNullable<Sweep["status"]>["trialCounts"]>>) =>
  ({ total: 0, pending: 0, running: 0, completed: 0, failed: 0, canceled: 0, earlyTerminated: 0, ...over });

describe("kubectl aml sweep", () => {
  it("makes the directory's snapshot the trials' source, in the target namespace", () => {
    const s = sweepFromManifest(manifest, { dir: "./my model", namespace: "team", digest: "sha256:abc" });
    expect(s.metadata).toMatchObject({ name: "lr", namespace: "team", labels: { team: "a", "app.kubernetes.io/created-by": "kubectl-aml" } });
    expect(s.spec.trialTemplate.source).toEqual({ snapshot: { digest: "sha256:abc" } });
    expect(s.spec.trialTemplate.script).toBe("train.py");
    const unnamed = sweepFromManifest({ ...manifest, metadata: {} }, { dir: "./my model", namespace: "team", digest: "d" });
    expect(unnamed.metadata).toMatchObject({ generateName: "my-model-" });
    expect(sweepFromManifest(manifest, { dir: ".", namespace: "t", digest: "d", name: "other" }).metadata.name).toBe("other");
  });

  it("refuses anything but one Sweep manifest", () => {
    expect(() => sweepFromManifest({ ...manifest, kind: "TrainingRun" }, { dir: ".", namespace: "t", digest: "d" })).toThrow(UsageError);
    expect(() => sweepFromManifest([manifest], { dir: ".", namespace: "t", digest: "d" })).toThrow(/kind Sweep/);
    expect(() => sweepFromManifest({ ...manifest, spec: {} }, { dir: ".", namespace: "t", digest: "d" })).toThrow(/trialTemplate/);
  });

  it("prints what changed between two looks: phase, ended trials, counts, a new best", () => {
    const first = sweep({ phase: "Running", trialCounts: counts({ total: 2, running: 2 }), trials: [
      { name: "lr-0", index: 0, parameters: { learning_rate: "0.01" }, phase: "Running" },
      { name: "lr-1", index: 1, parameters: { learning_rate: "0.3" }, phase: "Running" },
    ] });
    expect(changes(undefined, first).join("")).toBe(
      "sweep/lr: Running\n  lr-0: Running learning_rate=0.01\n  lr-1: Running learning_rate=0.3\ntrials: 2 running (2 of 4)\n");
    expect(changes(first, first)).toEqual([]);
    const later = sweep({ phase: "Running", trialCounts: counts({ total: 3, running: 1, completed: 1, earlyTerminated: 1 }),
      bestTrial: { name: "lr-1", parameters: { learning_rate: "0.3" }, metric: 0.0123456789 }, trials: [
        { name: "lr-0", index: 0, parameters: { learning_rate: "0.01" }, phase: "EarlyTerminated", metric: 2.5, message: "Bandit: 2.5 at evaluation 3 is outside the slack of the best (0.1)" },
        { name: "lr-1", index: 1, parameters: { learning_rate: "0.3" }, phase: "Completed", metric: 0.0123456789 },
        { name: "lr-2", index: 2, parameters: { learning_rate: "0.1" }, phase: "Running" },
      ] });
    expect(changes(first, later)).toEqual([
      "  lr-0: EarlyTerminated mse=2.5  learning_rate=0.01  Bandit: 2.5 at evaluation 3 is outside the slack of the best (0.1)\n",
      "  lr-1: Completed mse=0.0123457  learning_rate=0.3\n",
      "  lr-2: Running learning_rate=0.1\n",
      "trials: 1 running, 1 completed, 1 early-terminated (3 of 4)\n",
      "best so far: lr-1 mse=0.0123457 (learning_rate=0.3)\n",
    ]);
  });

  it("reports a finished sweep as a table with its reason and best trial", () => {
    const done = sweep({ phase: "Completed", trialCounts: counts({ total: 1, completed: 1 }),
      conditions: [{ type: "Succeeded", status: "True", reason: "Completed", message: "all 4 trials ran", lastTransitionTime: "2026-11-28T10:00:00Z" }],
      bestTrial: { name: "lr-0", parameters: { learning_rate: "0.3" }, metric: 0.01 },
      trials: [{ name: "lr-0", index: 0, parameters: { learning_rate: "0.3" }, phase: "Completed", metric: 0.01 }] });
    expect(sweepReport(done)).toBe([
      "sweep/lr: Completed — Completed: all 4 trials ran",
      "TRIAL   PHASE       LEARNING_RATE   MSE    MESSAGE",
      "lr-0    Completed   0.3             0.01",
      "trials: 1 completed (1 of 4)",
      "best: lr-0 mse=0.01 (learning_rate=0.3)",
      "",
    ].join("\n"));
    expect(countsLine(sweep(undefined))).toBe("0 of 4 trials");
  });
});
