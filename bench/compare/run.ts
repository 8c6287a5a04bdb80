// The side-by-side comparison: plain Jobs, Kubeflow PyTorchJobs and TrainingRuns, N = 10/100/500,
// each scenario alone on the cluster, repeated; plus the memory floor.
import { cleanupKubeflow, ensureKubeflow, installPyTorchJobCrd, KUBEFLOW_VERSION, type KubeflowBuild } from "../kubeflow.js";
import { measureFloor } from "./floor.js";
import { runScenario, type ScenarioResult } from "./scenario.js";
import { WORKLOADS, type WorkloadName } from "./workloads.js";

const LARGE_N = 500;

export interface ComparisonOptions {
  sizes: number[];
  repetitions: number;
  /** Repetitions at N ≥ LARGE_N. */
  largeRepetitions: number;
  workloads: WorkloadName[];
  log: (msg: string) => void;
}

export interface Comparison {
  sizes: number[];
  repetitions: number;
  largeRepetitions?: number;
  versions: { kubeflowTrainingOperator: string; go: string | null };
  floor: { clientNodeRssMiB: number; bareNodeRssMiB: number };
  scenarios: ScenarioResult[];
}

/**
 * BENCH_SIZES="10,100,500", BENCH_REPS=2 (BENCH_REPS_LARGE=1: repetitions at N ≥ 500, each of which
 * takes minutes per workload), BENCH_WORKLOADS="Job,PyTorchJob,TrainingRun,TrainingRunMlflow";
 * BENCH_FAST=1 → N=10, once.
 */
export function comparisonOptionsFromEnv(log: (msg: string) => void, env = process.env): ComparisonOptions {
  const fast = env.BENCH_FAST === "1";
  const list = (v: string | undefined, fallback: string): string[] => (v ?? fallback).split(",").map((s) => s.trim()).filter(Boolean);
  return {
    sizes: list(env.BENCH_SIZES, fast ? "10" : "10,100,500").map(Number),
    repetitions: Number(env.BENCH_REPS ?? (fast ? 1 : 2)),
    largeRepetitions: Number(env.BENCH_REPS_LARGE ?? 1),
    workloads: list(env.BENCH_WORKLOADS, "Job,PyTorchJob,TrainingRun,TrainingRunMlflow") as WorkloadName[],
    log,
  };
}

export async function runComparison(opts: ComparisonOptions): Promise<Comparison> {
  let kubeflow: KubeflowBuild | undefined;
  if (opts.workloads.includes("PyTorchJob")) {
    kubeflow = ensureKubeflow(opts.log);
    await installPyTorchJobCrd(kubeflow);
  }
  const floor = await measureFloor();
  opts.log(`floor: ${JSON.stringify(floor)}`);
  const scenarios: ScenarioResult[] = [];
  const repsAt = (n: number): number => (n >= LARGE_N ? opts.largeRepetitions : opts.repetitions);
  const plan = opts.sizes.flatMap((n) => Array.from({ length: repsAt(n) }, (_, i) => opts.workloads.map((name) => ({ n, rep: i + 1, reps: repsAt(n), name })))).flat();
  try {
    for (const { n, rep, reps, name } of plan) {
      opts.log(`compare: ${name} N=${n} (repetition ${rep}/${reps})`);
      const result = await runScenario(WORKLOADS[name], n, rep, { kubeflow, log: opts.log });
      opts.log(`  ${JSON.stringify(result)}`);
      scenarios.push(result);
    }
  } finally {
    if (kubeflow) await cleanupKubeflow();
  }
  return {
    sizes: opts.sizes, repetitions: opts.repetitions, largeRepetitions: opts.largeRepetitions, floor, scenarios,
    versions: { kubeflowTrainingOperator: KUBEFLOW_VERSION, go: kubeflow?.goVersion ?? null },
  };
}
