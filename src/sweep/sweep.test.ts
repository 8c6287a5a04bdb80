import { describe, expect, it } from "vitest";
import type { SweepParameter, SweepSpec } from "../api/v1alpha1/index.js";
import { evaluationPoints, recordEvaluations, trialsToStop } from "./early-termination.js";
import { gridPoint, gridSize, randomPoint, spaceProblem } from "./space.js";
import { envName, trialName } from "./trials.js";

const p = (x: Partial<SweepParameter> & Pick<SweepParameter, "name" | "type">): SweepParameter => x as SweepParameter;
const spec = (over: Partial<SweepSpec>): SweepSpec => ({
  samplingAlgorithm: "Random", parameters: [p({ name: "lr", type: "uniform", min: 0, max: 1 })], maxTrials: 4,
  primaryMetric: { name: "loss", goal: "Minimize" }, ...over,
} as SweepSpec);

describe("parameter space", () => {
  it("enumerates every grid point exactly once", () => {
    const params = [p({ name: "a", type: "choice", values: ["1", "2", "3"] }), p({ name: "b", type: "choice", values: ["x", "y"] })];
    expect(gridSize(params)).toBe(6);
    const points = Array.from({ length: 6 }, (_, i) => JSON.stringify(gridPoint(params, i)));
    expect(new Set(points).size).toBe(6);
    expect(gridPoint(params, 0)).toEqual({ a: "1", b: "x" });
    expect(gridPoint(params, 5)).toEqual({ a: "3", b: "y" });
  });

  it("draws the same random point for the same seed and index, within Azure ML's distributions", () => {
    const params = [
      p({ name: "u", type: "uniform", min: 2, max: 3 }), p({ name: "lu", type: "loguniform", min: -4, max: -1 }),
      p({ name: "qu", type: "quniform", min: 0, max: 10, q: 2.5 }), p({ name: "qlu", type: "qloguniform", min: 0, max: 3, q: 1 }),
      p({ name: "n", type: "normal", mu: 5, sigma: 0.001 }), p({ name: "ln", type: "lognormal", mu: 0, sigma: 0.001 }),
      p({ name: "c", type: "choice", values: ["relu", "tanh"] }),
    ];
    expect(randomPoint(params, 7, 3)).toEqual(randomPoint(params, 7, 3));
    expect(randomPoint(params, 7, 3)).not.toEqual(randomPoint(params, 7, 4));
    for (let i = 0; i < 50; i++) {
      const x = randomPoint(params, 11, i);
      expect(Number(x.u)).toBeGreaterThanOrEqual(2);
      expect(Number(x.u)).toBeLessThan(3);
      expect(Number(x.lu)).toBeGreaterThanOrEqual(Math.exp(-4));
      expect(Number(x.lu)).toBeLessThan(Math.exp(-1));
      expect(Number(x.qu) % 2.5).toBe(0);
      expect(Number.isInteger(Number(x.qlu))).toBe(true);
      expect(Math.abs(Number(x.n) - 5)).toBeLessThan(0.01);
      expect(Math.abs(Number(x.ln) - 1)).toBeLessThan(0.01);
      expect(["relu", "tanh"]).toContain(x.c);
    }
  });

  it("refuses inconsistent spaces and a grid larger than maxTrials", () => {
    expect(spaceProblem(spec({ parameters: [] }))?.reason).toBe("InvalidSpace");
    expect(spaceProblem(spec({ parameters: [p({ name: "a", type: "choice", values: ["1", "1"] })] }))?.message).toContain("twice");
    expect(spaceProblem(spec({ parameters: [p({ name: "a", type: "uniform", min: 1, max: 1 })] }))?.message).toContain("min < max");
    expect(spaceProblem(spec({ parameters: [p({ name: "a", type: "normal", mu: 0, sigma: 0 })] }))?.reason).toBe("InvalidSpace");
    const grid = spec({ samplingAlgorithm: "Grid", maxTrials: 5, parameters: [p({ name: "a", type: "choice", values: ["1", "2", "3"] }), p({ name: "b", type: "choice", values: ["1", "2"] })] });
    expect(spaceProblem(grid)).toMatchObject({ reason: "GridLargerThanMaxTrials" });
    expect(spaceProblem(grid)?.message).toContain("6 combinations");
    expect(spaceProblem({ ...grid, maxTrials: 6 })).toBeUndefined();
    expect(spaceProblem(spec({ samplingAlgorithm: "Bayesian", parameters: [p({ name: "n", type: "normal", mu: 0, sigma: 1 })] }))?.reason).toBe("InvalidSpace");
  });

  it("names trials deterministically within 63 characters and maps parameters to variables", () => {
    expect(trialName("lr-sweep", 3)).toBe("lr-sweep-3");
    expect(trialName("x".repeat(80), 12)).toHaveLength(63);
    expect(envName("learning_rate")).toBe("LEARNING_RATE");
  });
});

describe("early termination (Azure ML semantics)", () => {
  const bandit = { policy: "Bandit" as const, evaluationInterval: 2, delayEvaluation: 3, slackFactor: 0.1 };

  it("evaluates at multiples of the interval once the delay has passed", () => {
    expect([1, 2, 3, 4, 5, 6].map((r) => evaluationPoints(r, bandit))).toEqual([0, 0, 0, 1, 1, 2]);
    expect(recordEvaluations([], { reports: 6, value: 0.5 }, bandit)).toEqual([0.5, 0.5]);
    expect(recordEvaluations([0.9], { reports: 5, value: 0.5 }, bandit)).toEqual([0.9]);
  });

  it("Bandit stops a trial outside the slack of the best at the same evaluation", () => {
    const policy = { policy: "Bandit" as const, evaluationInterval: 1, delayEvaluation: 0, slackFactor: 0.1 };
    const candidates = [
      { name: "best", evaluations: [1.0], running: false },
      { name: "close", evaluations: [1.05], running: true },
      { name: "far", evaluations: [1.2], running: true },
    ];
    expect(trialsToStop(policy, "Minimize", candidates).map((s) => s.name)).toEqual(["far"]);
    expect(trialsToStop({ ...policy, slackFactor: undefined, slackAmount: 0.01 }, "Minimize", candidates).map((s) => s.name)).toEqual(["close", "far"]);
    expect(trialsToStop(policy, "Minimize", candidates.map((c) => ({ ...c, running: false })))).toEqual([]);
  });

  it("judges a trial seen ahead of the others again once they reach the same evaluation point", () => {
    // The sweep sees reports in batches: the bad trial is seen at points 0-3 while the good one
    // has only reached point 1, then the good one catches up. The verdict must not depend on that order.
    const policy = { policy: "Bandit" as const, evaluationInterval: 1, delayEvaluation: 0, slackFactor: 0.2 };
    const early = [
      { name: "good", evaluations: [3.0, 0.5], running: true },
      { name: "bad", evaluations: [3.1, 3.0, 2.9, 2.8], running: true },
    ];
    expect(trialsToStop(policy, "Minimize", early).map((s) => s.name)).toEqual(["bad"]);
    const ahead = [{ name: "good", evaluations: [3.0], running: true }, { name: "bad", evaluations: [3.1, 3.0, 2.9, 2.8], running: true }];
    expect(trialsToStop(policy, "Minimize", ahead)).toEqual([]);
    const caughtUp = [{ name: "good", evaluations: [3.0, 0.5, 0.1], running: true }, ahead[1]!];
    expect(trialsToStop(policy, "Minimize", caughtUp)).toEqual([expect.objectContaining({ name: "bad", message: expect.stringContaining("evaluation 2") })]);
  });

  it("MedianStopping stops a trial whose best is worse than the median of running averages", () => {
    const policy = { policy: "MedianStopping" as const, evaluationInterval: 1, delayEvaluation: 0 };
    const candidates = [
      { name: "a", evaluations: [0.9, 0.8], running: false },
      { name: "b", evaluations: [0.7, 0.6], running: false },
      { name: "c", evaluations: [0.2, 0.3], running: true },
    ];
    expect(trialsToStop(policy, "Maximize", candidates).map((s) => s.name)).toEqual(["c"]);
  });

  it("TruncationSelection stops the lowest percentage at an evaluation", () => {
    const policy = { policy: "TruncationSelection" as const, evaluationInterval: 1, delayEvaluation: 0, truncationPercentage: 50 };
    const candidates = [
      { name: "a", evaluations: [0.1], running: true }, { name: "b", evaluations: [0.2], running: true },
      { name: "c", evaluations: [0.3], running: true }, { name: "d", evaluations: [0.4], running: true },
    ];
    expect(trialsToStop(policy, "Maximize", candidates).map((s) => s.name).sort()).toEqual(["a", "b"]);
    expect(trialsToStop(policy, "Minimize", candidates).map((s) => s.name).sort()).toEqual(["c", "d"]);
    const tied = candidates.map((c) => ({ ...c, evaluations: [0.5] }));
    expect(trialsToStop(policy, "Maximize", tied)).toEqual([]);
  });
});
