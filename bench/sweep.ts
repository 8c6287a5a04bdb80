// Sweeps: how fast the Sweep controller starts trials, and how long a Bayesian suggestion takes.
// Run alone (not part of `make bench`): `tsx bench/sweep.ts` with the local cluster up
// (`tsx bench/sweep.ts suggestions`: part 1 only, no cluster). Writes bench/results/sweep.json and
// prints a Markdown table for BENCHMARKS.md.
//
// 1. Suggestion latency, no cluster: the operator's SuggestionProcess (the real Optuna process,
//    src/sweep/suggestion/suggest.py) asked for TPE suggestions with a history of H completed trials.
//    The first request includes starting Python and importing Optuna.
// 2. Trials started per second: a Sweep with maxTrials = maxConcurrentTrials = N applied to a
//    scoped operator; "started" = the trial's TrainingRun exists and so does its Job. The target's
//    pods can never be scheduled (nodeSelector matching no node), so the kubelet is spared and only
//    the operator's path is measured.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sweep, SweepParameter, TrainingRun } from "../src/api/v1alpha1/index.js";
import { Kinds, Labels } from "../src/api/v1alpha1/index.js";
import { SuggestionProcess, type SuggestionRequest } from "../src/sweep/suggestion/client.js";
import { randomPoint } from "../src/sweep/space.js";
import { createNamespace, repoRoot, requireCluster, waitFor } from "../test/cluster/kubectl.js";
import { apply, condition, getRunConfiguration, getTarget, localTarget, runConfiguration } from "../test/e2e/support/aml.js";
import { installCrds } from "../test/e2e/support/operator.js";
import { BenchCluster } from "./cluster.js";
import { describeMachine } from "./machine.js";
import { deleteNamespaceAndWait, NO_NODE } from "./namespaces.js";
import { launchOperator, stopOperator } from "./operator.js";
import { summarize, type Summary } from "./stats.js";

const step = (msg: string): void => console.log(`[bench-sweep ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const SPACE: SweepParameter[] = [
  { name: "learning_rate", type: "loguniform", min: -7, max: 0 },
  { name: "batch_size", type: "choice", values: ["16", "32", "64", "128"] },
  { name: "dropout", type: "uniform", min: 0, max: 0.5 },
];

function request(history: number, count: number): SuggestionRequest {
  const trials = Array.from({ length: history }, (_, i) => {
    const parameters = randomPoint(SPACE, 1, i);
    return { parameters, state: "COMPLETE" as const, value: Math.abs(Math.log(Number(parameters.learning_rate)) + 3) + Number(parameters.dropout) };
  });
  return { algorithm: "TPE", goal: "Minimize", seed: 7, startupTrials: 10, space: SPACE, trials, count };
}

interface SuggestionRow { history: number; count: number; latencyMs: Summary | null }

async function timeSuggestions(suggester: SuggestionProcess, req: SuggestionRequest, reps: number): Promise<Summary | null> {
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const got = await suggester.suggest(req);
    samples.push(performance.now() - t);
    if (got.length !== req.count) throw new Error(`asked for ${req.count} suggestions, got ${got.length}`);
  }
  return summarize(samples);
}

async function measureSuggestions(python: string): Promise<{ coldStartMs: number; rows: SuggestionRow[] }> {
  const suggester = new SuggestionProcess({ python });
  try {
    const t0 = performance.now();
    await suggester.suggest(request(0, 1));
    const coldStartMs = Math.round(performance.now() - t0);
    const rows: SuggestionRow[] = [];
    for (const [history, count, reps] of [[0, 1, 20], [20, 1, 20], [100, 1, 10], [300, 1, 5], [100, 10, 5]] as const) {
      rows.push({ history, count, latencyMs: await timeSuggestions(suggester, request(history, count), reps) });
      step(`suggestion H=${history} count=${count}: ${JSON.stringify(rows.at(-1)?.latencyMs)}`);
    }
    return { coldStartMs, rows };
  } finally {
    suggester.stop();
  }
}

interface StartRow { algorithm: string; n: number; firstTrialMs: number; allTrialsMs: number; allJobsMs: number; trialsPerSecond: number }

function sweepOf(ns: string, name: string, algorithm: "Random" | "Bayesian", n: number): Sweep {
  return {
    apiVersion: "amlcompute.dev/v1alpha1", kind: "Sweep", metadata: { name, namespace: ns },
    spec: {
      trialTemplate: { runConfigurationRef: { name: "python" }, script: "main.py", source: { inline: { files: [{ path: "main.py", content: "print('never scheduled')\n" }] } } },
      parameters: SPACE, samplingAlgorithm: algorithm,
      primaryMetric: { name: "loss", goal: "Minimize" }, maxTrials: n, maxConcurrentTrials: n,
    } as Sweep["spec"],
  };
}

/** Applies a Sweep of n trials and times apply → every trial TrainingRun → every trial's Job. */
async function measureStarts(bench: BenchCluster, ns: string, algorithm: "Random" | "Bayesian", n: number): Promise<StartRow> {
  const name = `${algorithm.toLowerCase()}-${n}`;
  const trialSeen = new Map<string, { at: number; uid: string }>();
  // The bench's own TrainingRun informer (cluster-wide) is polled every 50 ms for the sweep's trials.
  const look = (): boolean => {
    for (const r of bench.kube.list<TrainingRun>(Kinds.TrainingRun, { namespace: ns, labels: { [Labels.sweep]: name } })) {
      if (!trialSeen.has(r.metadata.name ?? "")) trialSeen.set(r.metadata.name ?? "", { at: performance.now(), uid: r.metadata.uid ?? "" });
    }
    return trialSeen.size >= n;
  };
  const applied = performance.now();
  await bench.createAll([sweepOf(ns, name, algorithm, n)]);
  await bench.until(`${n} trials of ${name}`, 600_000, look);
  const trials = [...trialSeen.values()];
  await bench.until(`${n} trial Jobs of ${name}`, 600_000, () => trials.every((t) => bench.seen.jobSeen.has(t.uid)));
  const lastTrial = Math.max(...trials.map((t) => t.at));
  const lastJob = Math.max(...trials.map((t) => bench.seen.jobSeen.get(t.uid) ?? 0));
  const firstTrial = Math.min(...trials.map((t) => t.at));
  return {
    algorithm, n,
    firstTrialMs: Math.round(firstTrial - applied), allTrialsMs: Math.round(lastTrial - applied), allJobsMs: Math.round(lastJob - applied),
    trialsPerSecond: Math.round((n / ((lastJob - applied) / 1000)) * 10) / 10,
  };
}

/** A Local target whose pods can never be scheduled, and its RunConfiguration, both Ready. */
async function readyTarget(ns: string): Promise<void> {
  await apply(localTarget(ns, "local", { nodeSelector: NO_NODE }), runConfiguration(ns, "python"));
  await waitFor(`${ns}: target Ready`, 120_000, async () => condition(await getTarget(ns, "local"), "Ready")?.status === "True");
  await waitFor(`${ns}: RunConfiguration Ready`, 120_000, async () => condition(await getRunConfiguration(ns, "python"), "Ready")?.status === "True");
}

async function main(): Promise<void> {
  const python = execFileSync(join(repoRoot, "hack/suggestion-env.sh"), { encoding: "utf8" }).trim();
  step(`suggestion latency (Optuna TPE, ${python})`);
  const suggestions = await measureSuggestions(python);
  if (process.argv[2] === "suggestions") {
    console.log(render({ loadAverage: (await import("node:os")).loadavg(), suggestions, starts: [] }));
    return;
  }
  await requireCluster();
  await installCrds();
  const bench = new BenchCluster();
  await bench.start();
  // The operator is scoped to the bench's namespace (the cluster is shared), so it starts first.
  const ns = await createNamespace("bench-sweep");
  const { op } = await launchOperator({ WATCH_NAMESPACE: ns, SUGGESTION_PYTHON: python });
  await readyTarget(ns);
  const starts: StartRow[] = [];
  try {
    for (const [algorithm, n] of [["Random", 10], ["Random", 100], ["Bayesian", 10], ["Bayesian", 100]] as const) {
      step(`trials started: ${algorithm} N=${n}`);
      starts.push(await measureStarts(bench, ns, algorithm, n));
      step(JSON.stringify(starts.at(-1)));
    }
  } finally {
    await stopOperator(op);
    bench.stop();
    await deleteNamespaceAndWait(ns).catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
  }
  const results = { machine: await describeMachine(), loadAverage: (await import("node:os")).loadavg(), suggestions, starts };
  writeFileSync(join(repoRoot, "bench", "results", "sweep.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(render(results));
}

function render(r: { loadAverage: number[]; suggestions: Awaited<ReturnType<typeof measureSuggestions>>; starts: StartRow[] }): string {
  const lines = [
    `Load average at the end: ${r.loadAverage.map((l) => l.toFixed(1)).join(" / ")}`, "",
    "| Sweep → trials started | N | first trial (ms) | all trial TrainingRuns (ms) | all trial Jobs (ms) | trials started / s |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.starts.map((s) => `| ${s.algorithm} | ${s.n} | ${s.firstTrialMs} | ${s.allTrialsMs} | ${s.allJobsMs} | ${s.trialsPerSecond} |`),
    "",
    `Suggestion process cold start (spawn + import Optuna + first answer): ${r.suggestions.coldStartMs} ms`, "",
    "| TPE suggestion, history H completed trials | count | p50 (ms) | p99 (ms) | max (ms) | samples |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.suggestions.rows.map((s) => `| H = ${s.history} | ${s.count} | ${s.latencyMs?.p50} | ${s.latencyMs?.p99} | ${s.latencyMs?.max} | ${s.latencyMs?.n} |`),
  ];
  return lines.join("\n");
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
