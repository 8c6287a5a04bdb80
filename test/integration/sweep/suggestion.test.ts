// The Bayesian suggestion process for real: Optuna from PyPI in the venv hack/suggestion-env.sh
// builds, driven over stdin/stdout by the operator's client, killed and restarted.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SweepParameter } from "../../../src/api/v1alpha1/index.js";
import { SuggestionProcess, SuggestionUnavailableError, type SuggestionRequest } from "../../../src/sweep/suggestion/client.js";
import { repoRoot } from "../../cluster/kubectl.js";

const run = promisify(execFile);

const space: SweepParameter[] = [
  { name: "lr", type: "loguniform", min: -7, max: -1 },
  { name: "batch", type: "choice", values: ["16", "32", "64"] },
  { name: "dropout", type: "quniform", min: 0, max: 0.5, q: 0.1 },
];

/** A made-up objective with its minimum near lr = e^-3, batch 32. */
const loss = (p: Record<string, string>): number => (Math.log(Number(p.lr)) + 3) ** 2 + (p.batch === "32" ? 0 : 0.5) + Number(p.dropout);

const request = (trials: SuggestionRequest["trials"], count = 1): SuggestionRequest => ({
  algorithm: "TPE", goal: "Minimize", seed: 42, startupTrials: 3, space, trials, count,
});

describe("suggestion process (Optuna)", () => {
  let proc: SuggestionProcess;
  let restarts = 0;

  beforeAll(async () => {
    const { stdout } = await run(join(repoRoot, "hack/suggestion-env.sh"), { timeout: 600_000 });
    proc = new SuggestionProcess({ python: stdout.trim(), onRestart: () => restarts++ });
  });

  afterAll(() => proc?.stop());

  it("suggests points inside the space with Azure ML's distribution semantics", async () => {
    const points = await proc.suggest(request([], 5));
    expect(points).toHaveLength(5);
    for (const p of points) {
      expect(Number(p.lr)).toBeGreaterThanOrEqual(Math.exp(-7) * 0.999);
      expect(Number(p.lr)).toBeLessThanOrEqual(Math.exp(-1) * 1.001);
      expect(["16", "32", "64"]).toContain(p.batch);
      expect(Math.round(Number(p.dropout) * 10) / 10).toBeCloseTo(Number(p.dropout), 9);
    }
  });

  it("is stateless and deterministic: the same history gives the same suggestion", async () => {
    const history = (await proc.suggest(request([], 4))).map((parameters) => ({ parameters, state: "COMPLETE" as const, value: loss(parameters) }));
    const [a] = await proc.suggest(request(history));
    const [b] = await proc.suggest(request(history));
    expect(a).toEqual(b);
  });

  it("learns from completed trials: TPE beats its own random start-up on a smooth objective", async () => {
    let trials: SuggestionRequest["trials"] = [];
    for (let i = 0; i < 20; i++) {
      const [p] = await proc.suggest(request(trials));
      trials = [...trials, { parameters: p!, state: "COMPLETE", value: loss(p!) }];
    }
    const values = trials.map((t) => t.value ?? Infinity);
    const startup = Math.min(...values.slice(0, 3));
    const later = Math.min(...values.slice(3));
    expect(later).toBeLessThan(startup);
  });

  it("is restarted after it dies, and the next request is answered", async () => {
    await proc.suggest(request([]));
    const pid = proc.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");
    // Whether or not the client has noticed the death yet, the request is answered.
    const points = await proc.suggest(request([], 2));
    expect(points).toHaveLength(2);
    expect(proc.pid).not.toBe(pid);
    expect(restarts).toBeGreaterThanOrEqual(1);
  });

  it("answers a space it cannot sample with an error, and stays up", async () => {
    const bad = { ...request([]), space: [{ name: "n", type: "normal", mu: 0, sigma: 1 } as SweepParameter] };
    await expect(proc.suggest(bad)).rejects.toBeInstanceOf(SuggestionUnavailableError);
    const pid = proc.pid;
    expect(await proc.suggest(request([]))).toHaveLength(1);
    expect(proc.pid).toBe(pid);
  });
});
