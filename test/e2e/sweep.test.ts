// Sweeps end to end on the Local target: the real operator (killed mid-sweep), the real Optuna
// suggestion process (killed mid-sweep), trials as real pods reporting metric lines.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sweep, TrainingRun } from "../../src/api/v1alpha1/index.js";
import { createNamespace, kubectl, kubectlJson, repoRoot, requireCluster, waitFor } from "../cluster/kubectl.js";
import { apply, condition, jobsOfRun, localTarget, runConfiguration } from "./support/aml.js";
import { endTest, installCrds, type RunningOperator, startOperator, stopOperator } from "./support/operator.js";
import { plugin } from "./support/plugin.js";
import { metricHistory } from "./support/store.js";

const run = promisify(execFile);

/** The demo's regression, trained with LEARNING_RATE; reports mse every few epochs as metric lines. */
const TRAIN = `import json, os, random, time
lr = float(os.environ["LEARNING_RATE"])
epochs = int(os.environ.get("EPOCHS", "40"))
pause = float(os.environ.get("PAUSE", "0"))
random.seed(7)
xs = [random.uniform(-1, 1) for _ in range(100)]
ys = [3.0 * x + 0.5 for x in xs]
w = b = 0.0
for epoch in range(epochs):
    gw = sum((w * x + b - y) * x for x, y in zip(xs, ys)) * 2 / len(xs)
    gb = sum((w * x + b - y) for x, y in zip(xs, ys)) * 2 / len(xs)
    w, b = w - lr * gw, b - lr * gb
    if epoch % 10 == 9 and os.environ.get("REPORT", "1") == "1":
        mse = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
        print("AML_METRIC", json.dumps({"name": "mse", "value": mse, "step": epoch}), flush=True)
    time.sleep(pause)
print("lr", lr, "done")
`;

function sweep(ns: string, name: string, spec: Record<string, unknown>, env: Record<string, string> = {}): object {
  return {
    apiVersion: "amlcompute.dev/v1alpha1", kind: "Sweep", metadata: { name, namespace: ns },
    spec: {
      trialTemplate: {
        script: "train.py", source: { inline: { files: [{ path: "train.py", content: TRAIN }] } },
        runConfigurationRef: { name: "python" }, ...(Object.keys(env).length ? { runConfiguration: { environmentVariables: env } } : {}),
      },
      parameterPassing: "Environment",
      parameters: [{ name: "learning_rate", type: "loguniform", min: -5, max: -0.5 }],
      samplingAlgorithm: "Random", primaryMetric: { name: "mse", goal: "Minimize" }, maxTrials: 4, maxConcurrentTrials: 2,
      ...spec,
    },
  };
}

const getSweep = (ns: string, name: string): Promise<Sweep> => kubectlJson<Sweep>(["-n", ns, "get", "sweep", name, "-o", "json"]);
const trialsOf = async (ns: string, name: string): Promise<TrainingRun[]> =>
  (await kubectlJson<{ items: TrainingRun[] }>(["-n", ns, "get", "trainingruns", "-l", `amlcompute.dev/sweep=${name}`, "-o", "json"])).items;

async function waitForSweep(ns: string, name: string, phases: string[], timeoutMs = 240_000): Promise<Sweep> {
  return waitFor(`Sweep ${ns}/${name} phase in ${phases.join("|")}`, timeoutMs, async () => {
    const s = await getSweep(ns, name);
    return s.status?.phase && phases.includes(s.status.phase) ? s : undefined;
  });
}

describe("Sweep on a Local target", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  let env: Record<string, string> = {};

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    const { stdout } = await run(join(repoRoot, "hack/suggestion-env.sh"), { timeout: 600_000 });
    env = { SUGGESTION_PYTHON: stdout.trim() };
    ns = await createNamespace("e2e-sweep");
    op = await startOperator({ WATCH_NAMESPACE: ns, ...env });
    await apply(localTarget(ns), runConfiguration(ns, "python", { environmentVariables: { EPOCHS: "40" } }));
  });

  afterAll(async () => {
    await endTest(op, ns);
  });

  it("runs every trial exactly once through two operator kills, and picks the best", async () => {
    await apply(sweep(ns, "random", { maxTrials: 6, maxConcurrentTrials: 3 }));
    await waitFor("first trials", 60_000, async () => (await trialsOf(ns, "random")).length >= 1);
    await stopOperator(op, "SIGKILL");
    op = await startOperator({ WATCH_NAMESPACE: ns, ...env });
    await waitFor("four trials", 180_000, async () => (await trialsOf(ns, "random")).length >= 4);
    await stopOperator(op, "SIGKILL");
    op = await startOperator({ WATCH_NAMESPACE: ns, ...env });
    const done = await waitForSweep(ns, "random", ["Completed", "Failed"]);

    const trials = await trialsOf(ns, "random");
    // None lost, none extra: exactly the indexes 0..5, each one TrainingRun.
    expect(trials.map((t) => t.metadata.name).sort()).toEqual(["random-0", "random-1", "random-2", "random-3", "random-4", "random-5"]);
    // None started twice: each trial ran one attempt, as one Job (a second start would be a second
    // TrainingRun under another name, or a second attempt or Job of the same one).
    for (const t of trials) {
      expect(t.status?.attempts, t.metadata.name).toBe(1);
      expect(await jobsOfRun(ns, t.metadata.uid ?? ""), t.metadata.name).toHaveLength(1);
    }
    expect(done.status?.trials?.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(done.status?.phase).toBe("Completed");
    expect(done.status?.trialCounts).toMatchObject({ total: 6, completed: 6, running: 0, pending: 0 });
    const mse = trials.map((t) => ({ name: t.metadata.name, v: t.status?.metrics?.latest.find((m) => m.name === "mse")?.value ?? Infinity }));
    const best = mse.reduce((a, b) => (b.v < a.v ? b : a));
    expect(done.status?.bestTrial).toMatchObject({ name: best.name, metric: best.v });
    expect(Number(done.status?.bestTrial?.parameters.learning_rate)).toBeGreaterThan(Math.exp(-5) * 0.999);
    expect(condition(done, "Succeeded")).toMatchObject({ status: "True", reason: "Completed" });
  });

  it("keeps a Bayesian sweep going when its Optuna suggestion process is killed", async () => {
    await apply(sweep(ns, "bayes", { samplingAlgorithm: "Bayesian", maxTrials: 5, maxConcurrentTrials: 1 }));
    await waitFor("first Bayesian trial", 60_000, async () => (await trialsOf(ns, "bayes")).length >= 1);
    const pids = await waitFor("suggestion process", 30_000, async () => {
      const ps = await run("ps", ["-o", "pid=,args=", "--ppid", String(op?.process.pid)]);
      const found = ps.stdout.split("\n").filter((l) => l.includes("suggest.py")).map((l) => Number(l.trim().split(/\s+/)[0]));
      return found.length > 0 ? found : undefined;
    });
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const done = await waitForSweep(ns, "bayes", ["Completed", "Failed"]);
    expect(done.status?.phase).toBe("Completed");
    expect(done.status?.trialCounts).toMatchObject({ total: 5, completed: 5 });
    expect((await trialsOf(ns, "bayes")).map((t) => t.metadata.name).sort()).toEqual(["bayes-0", "bayes-1", "bayes-2", "bayes-3", "bayes-4"]);
    expect(readFileSync(op!.logFile, "utf8")).toContain("Restarting the suggestion process");
  });

  // A good and a bad learning rate side by side, each trial ~60 s (a metric report every second):
  // the policy must stop the bad one while it runs and let the good one finish.
  const policies = [
    ["Bandit", { policy: "Bandit", evaluationInterval: 1, delayEvaluation: 1, slackFactor: 0.2 }],
    ["MedianStopping", { policy: "MedianStopping", evaluationInterval: 2, delayEvaluation: 2 }],
    ["TruncationSelection", { policy: "TruncationSelection", evaluationInterval: 1, delayEvaluation: 0, truncationPercentage: 50 }],
  ] as const;
  it.concurrent.each(policies)("%s stops the bad trial while it runs and lets the good one finish", async (policy, earlyTermination) => {
    const name = policy.toLowerCase();
    await apply(sweep(ns, name, {
      samplingAlgorithm: "Grid", maxTrials: 2, maxConcurrentTrials: 2,
      parameters: [{ name: "learning_rate", type: "choice", values: ["0.3", "0.0005"] }],
      earlyTermination,
    }, { EPOCHS: "600", PAUSE: "0.1" }));
    const done = await waitForSweep(ns, name, ["Completed", "Failed"], 300_000);
    const byLr = Object.fromEntries((done.status?.trials ?? []).map((t) => [t.parameters.learning_rate, t]));
    expect(byLr["0.0005"]?.phase, JSON.stringify(done.status?.trials)).toBe("EarlyTerminated");
    expect(byLr["0.0005"]?.message).toMatch(new RegExp(`^${policy}: `));
    expect(byLr["0.3"]?.phase).toBe("Completed");
    expect(done.status?.trialCounts).toMatchObject({ earlyTerminated: 1, completed: 1 });
    expect(done.status?.bestTrial?.parameters.learning_rate).toBe("0.3");
    // Stopped early: its pod ran well short of its 600 epochs (60 reports).
    const bad = (await trialsOf(ns, name)).find((t) => t.metadata.name === byLr["0.0005"]?.name);
    expect(bad?.status?.phase).toBe("Canceled");
    expect(bad?.status?.metrics?.latest[0]?.count ?? 0).toBeLessThan(60);
  });

  it("says so when no trial reports the metric, instead of waiting forever", async () => {
    await apply(sweep(ns, "silent", { maxTrials: 2 }, { REPORT: "0" }));
    const done = await waitForSweep(ns, "silent", ["Completed", "Failed"]);
    expect(condition(done, "Succeeded")).toMatchObject({ status: "False", reason: "NoTrialReportedMetric" });
    expect(done.status?.trials?.map((t) => t.message)).toEqual(["ended without reporting mse", "ended without reporting mse"]);
  });

  it("refuses a grid larger than maxTrials and a space with duplicate values, starting nothing", async () => {
    await apply(sweep(ns, "grid", { samplingAlgorithm: "Grid", maxTrials: 2, parameters: [{ name: "learning_rate", type: "choice", values: ["0.1", "0.2", "0.3"] }] }));
    const grid = await waitForSweep(ns, "grid", ["Failed"], 30_000);
    expect(condition(grid, "Succeeded")).toMatchObject({ status: "False", reason: "GridLargerThanMaxTrials" });
    expect(condition(grid, "Succeeded")?.message).toContain("3 combinations but maxTrials is 2");
    await apply(sweep(ns, "dup", { parameters: [{ name: "learning_rate", type: "choice", values: ["0.1", "0.1"] }] }));
    const dup = await waitForSweep(ns, "dup", ["Failed"], 30_000);
    expect(condition(dup, "Succeeded")).toMatchObject({ reason: "InvalidSpace" });
    expect(await trialsOf(ns, "grid")).toHaveLength(0);
    expect(await trialsOf(ns, "dup")).toHaveLength(0);
  });

  it("rejects an empty or inconsistent space at apply time", async () => {
    const bad = [
      sweep(ns, "empty", { parameters: [] }),
      sweep(ns, "bounds", { parameters: [{ name: "learning_rate", type: "uniform", min: 1, max: 0.5 }] }),
      sweep(ns, "gridtype", { samplingAlgorithm: "Grid", parameters: [{ name: "learning_rate", type: "uniform", min: 0, max: 1 }] }),
      sweep(ns, "bayesnormal", { samplingAlgorithm: "Bayesian", parameters: [{ name: "learning_rate", type: "normal", mu: 0, sigma: 1 }] }),
      sweep(ns, "slack", { earlyTermination: { policy: "Bandit" } }),
    ];
    for (const obj of bad) {
      const r = await kubectl(["apply", "-f", "-"], { input: JSON.stringify(obj), allowFail: true });
      expect(r.code, JSON.stringify(obj).slice(0, 200)).not.toBe(0);
      expect(r.stderr).toMatch(/Invalid value|should have at least 1 items|must|needs|takes/);
    }
  });

  it("kubectl aml sweep runs examples/sweep-learning-rate from its directory to the end; a trial's metric history downloads", async () => {
    await kubectl(["-n", ns, "apply", "-f", join(repoRoot, "examples/local/01-run-configuration.yaml")]);
    const example = join(repoRoot, "examples/sweep-learning-rate");
    const r = await plugin(["sweep", example, "-f", join(example, "sweep.yaml"), "-n", ns], { timeoutMs: 300_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toMatch(/snapshot sha256:[0-9a-f]{64}: 3 files/); // train.py, linear.py, .amlignore (which keeps sweep.yaml out)
    expect(r.stdout).toContain("sweep.amlcompute.dev/learning-rate created");
    // Progress lines while it runs (how many are seen depends on how fast trials end), then the total.
    expect(r.stdout).toMatch(/^trials: .*\(\d+ of 8\)$/m);
    expect(r.stdout).toMatch(/^trials: 8 completed \(8 of 8\)$/m);
    expect(r.stdout).toMatch(/^TRIAL +PHASE +LEARNING_RATE +MSE/m);
    const done = await getSweep(ns, "learning-rate");
    expect(done.status?.phase).toBe("Completed");
    expect(done.status?.trialCounts).toMatchObject({ total: 8, completed: 8 });
    expect(done.spec.trialTemplate.source.snapshot?.digest).toMatch(/^sha256:/);
    const best = done.status?.bestTrial;
    expect(best?.metric).toBe(Math.min(...(done.status?.trials ?? []).map((t) => t.metric ?? Infinity)));
    expect(r.stdout).toContain(`best: ${best?.name} mse=`);
    // The best trial's whole metric history, downloaded as users download outputs.
    const out = mkdtempSync(join(tmpdir(), "sweep-dl-"));
    const dl = await plugin(["download", best?.name ?? "", out, "-n", ns]);
    expect(dl.code, dl.stderr).toBe(0);
    const history = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { name: string; step: number; value: number });
    expect(history.map((h) => h.step)).toEqual([2, 5, 8, 11, 14, 17, 20, 23, 26, 29]);
    expect(history.at(-1)?.value).toBe(best?.metric);
    const [bestRun] = (await trialsOf(ns, "learning-rate")).filter((t) => t.metadata.name === best?.name);
    expect((await metricHistory(bestRun!)).length).toBe(10);
  });

  it("cancels a sweep: active trials canceled, phase Canceled; Ctrl-C only stops following it", async () => {
    await apply(sweep(ns, "cancel", { maxTrials: 3, maxConcurrentTrials: 2 }, { EPOCHS: "600", PAUSE: "0.2" }));
    await waitFor("cancel trials running", 90_000, async () => (await getSweep(ns, "cancel")).status?.trialCounts?.running === 2);
    let interrupted = false;
    const followed = await plugin(["sweep", "status", "cancel", "--watch", "-n", ns], {
      onStdout: (out, signal) => {
        if (!interrupted && out.includes("trials: 2 running")) {
          interrupted = true;
          signal("SIGINT");
        }
      },
    });
    expect(followed.code, followed.stderr).toBe(130);
    expect(followed.stderr).toContain("stopped following; sweep/cancel goes on");
    expect((await getSweep(ns, "cancel")).status?.phase).toBe("Running");
    await kubectl(["-n", ns, "patch", "sweep", "cancel", "--type=merge", "-p", '{"spec":{"cancel":true}}']);
    const done = await waitForSweep(ns, "cancel", ["Canceled"], 60_000);
    expect(condition(done, "Succeeded")).toMatchObject({ status: "False", reason: "Canceled" });
    await waitFor("trials canceled", 60_000, async () => (await trialsOf(ns, "cancel")).every((t) => t.status?.phase === "Canceled"));
    expect(await trialsOf(ns, "cancel")).toHaveLength(2);
  });
});
