// Markdown for the side-by-side comparison: one table per N, each repetition's value, and the
// TrainingRun ÷ Kubeflow ratio of the means (below 1 is better for TrainingRun).
import type { Comparison } from "./run.js";
import type { ScenarioResult } from "./scenario.js";
import type { WorkloadName } from "./workloads.js";

const COLUMNS: WorkloadName[] = ["Job", "PyTorchJob", "TrainingRun", "TrainingRunMlflow"];
const HEAD: Record<WorkloadName, string> = {
  Job: "plain Job", PyTorchJob: "Kubeflow PyTorchJob", TrainingRun: "TrainingRun", TrainingRunMlflow: "TrainingRun + MLflow",
};

const mean = (xs: number[]): number | undefined => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
const fmt = (v: number | undefined, digits = 0): string => (v === undefined || Number.isNaN(v) ? "—" : v.toFixed(digits));
const ratio = (ours: number | undefined, theirs: number | undefined): string =>
  ours === undefined || theirs === undefined || theirs === 0 ? "—" : `${(ours / theirs).toFixed(2)}×`;

type Metric = (r: ScenarioResult) => number | undefined;

const ROWS: Array<{ label: string; metric: Metric; digits?: number; operatorOnly?: boolean; noRatio?: boolean }> = [
  { label: "apply → pod created p50 (ms)", metric: (r) => r.applyToPodMs?.p50 },
  { label: "apply → pod created p99 (ms)", metric: (r) => r.applyToPodMs?.p99 },
  { label: "apply → pod created max (ms)", metric: (r) => r.applyToPodMs?.max },
  { label: "apply → all terminal, wall (ms)", metric: (r) => r.allTerminalWallMs },
  { label: "pod exit → item terminal p50 (ms)", metric: (r) => r.podExitToTerminalMs?.p50 },
  { label: "pod exit → item terminal p99 (ms)", metric: (r) => r.podExitToTerminalMs?.p99 },
  { label: "operator RSS idle, no target yet (MiB)", metric: (r) => r.operator?.idleNoTargetRssMiB ?? (r.workload === "PyTorchJob" ? r.operator?.idleRssMiB : undefined), operatorOnly: true },
  { label: "operator RSS idle, target Ready (MiB)", metric: (r) => r.operator?.idleRssMiB, operatorOnly: true },
  { label: "operator RSS peak (MiB)", metric: (r) => r.operator?.peakRssMiB, operatorOnly: true },
  { label: "operator CPU (s)", metric: (r) => r.operator?.cpuSeconds, digits: 2, operatorOnly: true },
  { label: "operator API requests per item", metric: (r) => r.operator?.requestsPerItem, digits: 1, operatorOnly: true },
  { label: "machine load average (1 min) at start", metric: (r) => r.loadAverage?.atStart, digits: 1, noRatio: true },
  { label: "machine load average (1 min) at end", metric: (r) => r.loadAverage?.atEnd, digits: 1, noRatio: true },
];

/** The value of each repetition, in order. */
const valuesOf = (c: Comparison, n: number, w: WorkloadName, metric: Metric): number[] =>
  c.scenarios.filter((s) => s.n === n && s.workload === w).map(metric).filter((v): v is number => v !== undefined);

function requestsBreakdown(c: Comparison, n: number): string[] {
  const lines: string[] = [];
  for (const w of ["PyTorchJob", "TrainingRun", "TrainingRunMlflow"] as const) {
    const last = c.scenarios.filter((s) => s.n === n && s.workload === w).at(-1)?.operator;
    if (!last) continue;
    const byMethod = Object.entries(last.requestsPerItemByMethod).map(([k, v]) => `${k} ${v}`).join(", ");
    const byKind = last.requestsPerItemByVerbAndKind
      ? `; by verb and kind: ${Object.entries(last.requestsPerItemByVerbAndKind).map(([k, v]) => `${k} ${v}`).join(", ")}`
      : "";
    lines.push(`- ${HEAD[w]} operator, N=${n}, requests per item by method: ${byMethod || "none"}${byKind}`);
  }
  return lines;
}

export function renderComparison(c: Comparison): string {
  const out: string[] = [
    `Memory floor: a Node process that only imported \`@kubernetes/client-node\`: **${c.floor.clientNodeRssMiB} MiB** RSS (bare Node: ${c.floor.bareNodeRssMiB} MiB).`,
    `Each repetition's value (${c.repetitions} repetition(s)${c.largeRepetitions !== undefined && c.largeRepetitions !== c.repetitions ? `, ${c.largeRepetitions} at N ≥ 500` : ""}, separated by ·); each scenario ran alone with only its own operator. TrainingRun: the operator as installed by default (no MLflow tracking server, like Kubeflow's operator); TrainingRun + MLflow: with the cluster's MLflow configured, every run gets an MLflow run before its Job. Ratio: TrainingRun ÷ Kubeflow, of the means.`,
    "",
  ];
  for (const n of c.sizes) {
    out.push(`| N = ${n} | ${COLUMNS.map((w) => HEAD[w]).join(" | ")} | ratio |`, `|---|${COLUMNS.map(() => "---:").join("|")}|---:|`);
    for (const row of ROWS) {
      const reps = COLUMNS.map((w) => (row.operatorOnly && w === "Job" ? [] : valuesOf(c, n, w, row.metric)));
      const cells = reps.map((vs) => (vs.length ? vs.map((v) => fmt(v, row.digits)).join(" · ") : "—"));
      out.push(`| ${row.label} | ${cells.join(" | ")} | ${row.noRatio ? "" : ratio(mean(reps[2] ?? []), mean(reps[1] ?? []))} |`);
    }
    out.push("", ...requestsBreakdown(c, n), "");
  }
  return out.join("\n");
}
