// The side-by-side comparison: plain Jobs, Kubeflow PyTorchJobs and TrainingRuns, N = 10/100/500,
// each scenario alone on the cluster, repeated; plus the memory floor.
import { cleanupKubeflow, ensureKubeflow, installPyTorchJobCrd, KUBEFLOW_VERSION, type KubeflowBuild } from "../kubeflow.js";
import { measureFloor } from "./floor.js";
import { runScenario, type ScenarioResult } from "./scenario.js";
import { WORKLOADS, type WorkloadName } from "./workloads.js";

export interface ComparisonOptions {
  sizes: number[];
  repetitions: number;
  workloads: WorkloadName[];
  log: (msg: string) => void;
}

export interface Comparison {
  sizes: number[];
  repetitions: number;
  versions: { kubeflowTrainingOperator: string; go: string | null };
  floor: { clientNodeRssMiB: number; bareNodeRssMiB: number };
  scenarios: ScenarioResult[];
}

/** BENCH_SIZES="10,100,500", BENCH_REPS=2, BENCH_WORKLOADS="Job,PyTorchJob,TrainingRun"; BENCH_FAST=1 → N=10, once. */
export function comparisonOptionsFromEnv(log: (msg: string) => void, env = process.env): ComparisonOptions {
  const fast = env.BENCH_FAST === "1";
  const list = (v: string | undefined, fallback: string): string[] => (v ?? fallback).split(",").map((s) => s.trim()).filter(Boolean);
  return {
    sizes: list(env.BENCH_SIZES, fast ? "10" : "10,100,500").map(Number),
    repetitions: Number(env.BENCH_REPS ?? (fast ? 1 : 2)),
    workloads: list(env.BENCH_WORKLOADS, "Job,PyTorchJob,TrainingRun") as WorkloadName[],
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
  const plan = opts.sizes.flatMap((n) => Array.from({ length: opts.repetitions }, (_, i) => opts.workloads.map((name) => ({ n, rep: i + 1, name })))).flat();
  try {
    for (const { n, rep, name } of plan) {
      opts.log(`compare: ${name} N=${n} (repetition ${rep}/${opts.repetitions})`);
      const result = await runScenario(WORKLOADS[name], n, rep, { kubeflow, log: opts.log });
      opts.log(`  ${JSON.stringify(result)}`);
      scenarios.push(result);
    }
  } finally {
    if (kubeflow) await cleanupKubeflow();
  }
  return {
    sizes: opts.sizes, repetitions: opts.repetitions, floor, scenarios,
    versions: { kubeflowTrainingOperator: KUBEFLOW_VERSION, go: kubeflow?.goVersion ?? null },
  };
}
