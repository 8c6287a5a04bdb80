// Results: bench/results/latest.json (everything) and BENCHMARKS.md (tables, machine, method).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Machine } from "./machine.js";
import type { JobLatencyResult } from "./scenarios/job-latency.js";
import type { MemoryResult } from "./scenarios/memory.js";
import type { RealRunsResult, RequestsPerRun } from "./scenarios/real-runs.js";
import type { Summary } from "./stats.js";
import type { AzureBench } from "./azure.js";
import type { Comparison } from "./compare/run.js";
import { renderComparison } from "./compare/report.js";

/** Filled from bench/remote-vm.ts (`benchRemoteVm()`) when present; nulls otherwise. */
export interface RemoteVmResult {
  secondRunUploadBytes: number | null;
  secondRunEnvReuseMs: number | null;
  note: string;
  /** Everything bench/remote-vm.ts reported. */
  raw?: unknown;
}

export interface BenchResults {
  machine: Machine;
  durationSec: number;
  /** Side by side: plain Jobs, Kubeflow PyTorchJobs, TrainingRuns. */
  comparison: Comparison;
  operator: { idleRssMiB: number; firstStartReadyMs: number };
  realRuns: RealRunsResult[];
  pendingRuns: JobLatencyResult[];
  memory: MemoryResult;
  /** 1-minute load average when each step of the operator's own figures started. */
  loadAverageAtStep?: Record<string, number>;
  remoteVM: RemoteVmResult;
  /** bench/azure.ts against the ARM emulator; null when it failed (see azureError). */
  azure: AzureBench | null;
  azureError?: string;
  /** What the reader must know about this run (e.g. figures joined from two runs), shown first. */
  notes?: string[];
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const fmt = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? "—" : String(Math.round(v * 10) / 10));
const latencyRow = (what: string, n: number, s: Summary | null): string => `| ${what} | ${n} | ${fmt(s?.p50)} | ${fmt(s?.p99)} | ${fmt(s?.max)} |`;
const requestRow = (what: string, r: RequestsPerRun): string => `| ${what} | ${METHODS.map((m) => fmt(r.byMethod[m] ?? 0)).join(" | ")} | ${fmt(r.total)} |`;

const meanOf = (xs: number[]): number | undefined => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/** The mean over repetitions of one figure of one workload at one N. */
function compared(r: BenchResults, n: number, workload: string, figure: (s: BenchResults["comparison"]["scenarios"][number]) => number | undefined): number | undefined {
  return meanOf(r.comparison.scenarios.filter((s) => s.n === n && s.workload === workload).map(figure).filter((v): v is number => v !== undefined));
}

const verdict = (met: boolean | undefined): string => (met === undefined ? "not measured" : met ? "**met**" : "**not met**");
const measured = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/** Each target of the comparison with the measured figures and whether this run met it. */
export function renderTargets(r: BenchResults): string {
  const floor = r.comparison.floor.clientNodeRssMiB;
  const rows: string[] = [];
  for (const n of r.comparison.sizes) {
    for (const [label, figure] of [
      ["apply → pod created p50", (s: BenchResults["comparison"]["scenarios"][number]) => s.applyToPodMs?.p50],
      ["apply → pod created p99", (s: BenchResults["comparison"]["scenarios"][number]) => s.applyToPodMs?.p99],
      ["apply → all terminal (wall)", (s: BenchResults["comparison"]["scenarios"][number]) => s.allTerminalWallMs],
    ] as const) {
      const ours = compared(r, n, "TrainingRun", figure);
      const theirs = compared(r, n, "PyTorchJob", figure);
      const met = ours === undefined || theirs === undefined ? undefined : ours <= theirs;
      rows.push(`| N = ${n}: ${label} ≤ Kubeflow's | ${fmt(ours)} ms vs ${fmt(theirs)} ms | ${verdict(met)} |`);
    }
  }
  const ours = r.comparison.scenarios.filter((s) => s.workload === "TrainingRun");
  const idle = meanOf(ours.map((s) => s.operator?.idleNoTargetRssMiB).filter((v): v is number => v !== undefined));
  const idleWithTarget = meanOf(ours.map((s) => s.operator?.idleRssMiB).filter((v): v is number => v !== undefined));
  const with10k = [r.memory?.rssMiB.with10k].find(measured);
  const jobs1000 = [r.pendingRuns.find((x) => x.n === 1000)?.wallMs].find(measured);
  rows.push(
    `| RSS idle ≤ floor + 25 MiB | ${fmt(idle)} MiB vs floor ${fmt(floor)} MiB (+${fmt(idle === undefined ? undefined : idle - floor)}) | ${verdict(idle === undefined ? undefined : idle <= floor + 25)} |`,
    `| … idle with a Local target Ready (the store's SDK loaded with it) ≤ floor + 25 MiB | ${fmt(idleWithTarget)} MiB (+${fmt(idleWithTarget === undefined ? undefined : idleWithTarget - floor)}) | ${verdict(idleWithTarget === undefined ? undefined : idleWithTarget <= floor + 25)} |`,
    `| RSS with 10,000 TrainingRuns cached ≤ floor + 75 MiB | ${fmt(with10k)} MiB (+${fmt(with10k === undefined ? undefined : with10k - floor)}) | ${verdict(with10k === undefined ? undefined : with10k <= floor + 75)} |`,
    `| 1,000 runs → all Jobs ≤ 10 s | ${fmt(jobs1000)} ms | ${verdict(jobs1000 === undefined ? undefined : jobs1000 <= 10_000)} |`,
  );
  return ["| target | measured here | |", "|---|---|---|", ...rows].join("\n");
}

export function renderTables(r: BenchResults): string {
  const real10 = r.realRuns.find((x) => x.n === 10) ?? r.realRuns[r.realRuns.length - 1];
  return [
    "## Targets",
    "",
    renderTargets(r),
    "",
    "## Side by side: plain Jobs, Kubeflow training-operator, TrainingRuns",
    "",
    renderComparison(r.comparison),
    "## The operator's own figures",
    "",
    "| Latency (ms) | N | p50 | p99 | max |",
    "|---|---:|---:|---:|---:|",
    ...r.realRuns.map((x) => latencyRow("apply → Job created (real runs)", x.n, x.applyToJobMs)),
    ...r.pendingRuns.map((x) => latencyRow("apply → Job created (pods stay Pending)", x.n, x.applyToJobMs)),
    ...r.realRuns.map((x) => latencyRow("pod exit → TrainingRun final status", x.n, x.podExitToFinalMs)),
    "",
    `| Operator API requests per run (N=${real10?.n ?? "?"} batch) | ${METHODS.join(" | ")} | total |`,
    `|---|${METHODS.map(() => "---:").join("|")}|---:|`,
    ...(real10 ? [requestRow("create → final status", real10.requestsPerRun), requestRow("deletion of the finished run", real10.deletionRequestsPerRun)] : []),
    "",
    "| Operator memory and startup | value |",
    "|---|---:|",
    `| RSS idle (MiB) | ${fmt(r.operator.idleRssMiB)} |`,
    `| RSS with 1k TrainingRuns cached (MiB) | ${fmt(r.memory.rssMiB.with1k)} |`,
    `| RSS with 10k TrainingRuns cached (MiB) | ${fmt(r.memory.rssMiB.with10k)} |`,
    `| RSS after restart with 10k present (MiB) | ${fmt(r.memory.rssMiB.after10kRestart)} |`,
    `| startup to /readyz, empty cluster (ms) | ${fmt(r.operator.firstStartReadyMs)} |`,
    `| startup to /readyz with 10k TrainingRuns (ms) | ${fmt(r.memory.restart10k.readyMs)} |`,
    `| startup to idle with 10k TrainingRuns (ms, ${r.memory.restart10k.requests} requests) | ${fmt(r.memory.restart10k.idleMs)} |`,
    `| apply → Job, wall time for all 1000 (ms) | ${fmt(r.pendingRuns.find((x) => x.n === 1000)?.wallMs)} |`,
    "",
    `Machine load average (1 min) when each step started: ${Object.entries(r.loadAverageAtStep ?? {}).map(([k, v]) => `${k} ${v}`).join("; ") || "—"}.`,
    "",
    "| RemoteVM (second run of an unchanged source) | value |",
    "|---|---:|",
    `| bytes uploaded | ${fmt(r.remoteVM.secondRunUploadBytes)} |`,
    `| second run with the environment reused: submit → finished (ms) | ${fmt(r.remoteVM.secondRunEnvReuseMs)} |`,
    `| note | ${r.remoteVM.note} |`,
    "",
    "| ARM (emulator, real SDK and provider) | value |",
    "|---|---:|",
    `| requests for one AmlCompute provisioning | ${fmt(r.azure?.singleProvisioning.armRequests)} (${Object.entries(r.azure?.singleProvisioning.byMethod ?? {}).map(([m, n]) => `${m} ${n}`).join(", ")}) |`,
    `| 10 targets provisioned under ${fmt(r.azure?.throttledFleet.injected429)} injected 429s: requests sent | ${fmt(r.azure?.throttledFleet.armRequests)} |`,
    `| … of which 429 | ${fmt(r.azure?.throttledFleet.sent429)} |`,
    `| … most requests in any one second (budget ${r.azure?.throttledFleet.budget ?? "—"}) | ${fmt(r.azure?.throttledFleet.maxRequestsInAnySecond)} |`,
    `| … wall time (s) | ${fmt(r.azure?.throttledFleet.seconds)} |`,
    ...(r.azureError ? [`| error | ${r.azureError} |`] : []),
  ].join("\n");
}

function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  return `# Benchmarks

Produced by \`make bench\` (\`tsx bench/run.ts\`${r.durationSec > 0 ? `, ${Math.round(r.durationSec)} s on this machine` : ""}); raw numbers in
\`bench/results/latest.json\`. Numbers from one run on a 2-core machine that ran nothing else (each
scenario gives the load average at its start and end: at N ≥ 100 the scenario itself loads the
machine): compare orders of magnitude, not single milliseconds.
${(r.notes ?? []).map((n) => `\n> ${n}\n`).join("")}
${renderTables(r)}

## Machine

| | |
|---|---|
| CPUs (nproc) | ${m.nproc} |
| memory | ${m.memoryGiB} GiB |
| CPU model | ${m.cpuModel} |
| kernel | ${m.kernel} |
| Node.js | ${m.node} |
| Kubernetes | ${m.kubernetes} (local single-node cluster from \`make cluster-up\`: apiserver, etcd, controller-manager, scheduler and kubelet on this machine) |
| date | ${m.date} |

## How measured

Every operator runs as a child process scoped to the namespace of the step it serves
(\`WATCH_NAMESPACE\`): ours as \`node dist/src/main.js\`, as the image runs it, \`LOG_LEVEL=info\`,
default settings (16 TrainingRun workers, client budget 100 QPS / 200 burst); in the side-by-side
tables "TrainingRun" has no MLflow tracking server configured (the chart's default, and Kubeflow's
operator tracks nothing) and "TrainingRun + MLflow" has the cluster's MLflow; the operator's own
figures below have MLflow configured. The side-by-side scenarios run one after the other, each with
only its own operator. The bench process has its own client (\`KubeClientImpl\`, separate
request counters) and its own watches of TrainingRuns, of Jobs and of Pods labelled
\`amlcompute.dev/run-uid\`; every timestamp is taken in the bench process with \`performance.now()\`,
so clocks never have to agree. **apply → Job created**: from the moment the bench's create call of a
TrainingRun returned to the moment its Job watch first saw a Job labelled with that run's uid. The N
runs are created at once (at most 50 create calls in flight). N = 1 and 10 are real runs on a Local
target; N = 100 and 1000 use a Local target whose \`nodeSelector\` matches no node, so their pods stay
Pending and only the operator's path to the Job is measured. **pod exit → final status**: from the
bench's Pod watch seeing container \`train\` terminated to its TrainingRun watch seeing phase
Completed or Failed; the scripts print two lines and exit 0. **API requests per run**: deltas of the
operator's \`rest_client_requests_total\` (by HTTP method: GET = get/list/watch, POST = create, PUT =
status, PATCH, DELETE) over the N = 10 batch, divided by 10; the baseline is taken after the
operator has sent no request for 3 s, the end likewise after all runs are final (so late status
writes and Events count); deletion is counted the same way after deleting the finished runs.
**RSS** is \`VmRSS\` of the operator process from \`/proc/<pid>/status\` after it has been idle 3 s
(no forced GC); the 1k/10k figures come from a freshly restarted operator while 1,000 and then
10,000 TrainingRuns with \`spec.suspend: true\` (no Jobs) exist. **Startup** is spawn of the process →
first 200 from \`/readyz\` (polled every 20 ms), and → 3 s without API requests (every run
reconciled once). RemoteVM numbers are measured by \`bench/remote-vm.ts\` when present. The bench
deletes all its namespaces at the end.

## Reading the numbers

- **Load.** Each scenario shows the 1-minute load average at its start and end, and the step list
  above the machine table shows it for the operator's own figures. At N = 100 and 500 the pods
  themselves load the 2 cores (kubelet, containerd, the scripts): compare scenarios run at
  similar load.
- **apply → pod created** for a TrainingRun is its first reconcile — the source into the store
  (once per distinct content: later runs of the same source skip it) and, when tracking is
  configured, the MLflow run, side by side, with the finalizer; then the attempt's store Secret and
  the Job, together — plus the Job controller creating the pod (the plain-Job column). Kubeflow's
  operator creates the pod itself, with no Job in between.
- **pod exit → item terminal**: a TrainingRun is \`Completed\` as soon as its pods show the script
  exited 0 (it no longer waits for the Job controller's \`Complete\`); the plain-Job column is the
  Job controller's own pod exit → \`Complete\`.
- **all terminal** also counts the TrainingRun pod's longer life: its runner fetches and verifies
  the snapshot from the store before the script, and uploads outputs, log and \`result.json\` after
  it. That is work the other columns do not do.
- **Writes**: one Local run costs 6 API writes from apply to \`Completed\` (counted exactly in
  \`test/e2e/run-api-writes.test.ts\`); the requests per item above also count reads (log tails,
  the store Secret) and, for long runs under load, output-tail refreshes (at most one per 30 s).
`;
}

/** Headings this file generates; any other "## " section of BENCHMARKS.md (other benches' figures) is kept. */
const GENERATED = ["Targets", "Side by side", "The operator's own figures", "Machine", "How measured", "Reading the numbers"];

/** The sections of an existing BENCHMARKS.md that other benches wrote (e.g. bench/data-plane.ts, bench/sweep.ts). */
function keptSections(existing: string): string {
  return existing.split(/\n(?=## )/).slice(1)
    .filter((section) => !GENERATED.some((h) => section.startsWith(`## ${h}`)))
    .map((section) => `\n${section.trimEnd()}\n`).join("");
}

export function writeResults(repoRoot: string, r: BenchResults): void {
  writeFileSync(join(repoRoot, "bench", "results", "latest.json"), JSON.stringify(r, null, 2) + "\n");
  const file = join(repoRoot, "BENCHMARKS.md");
  const kept = existsSync(file) ? keptSections(readFileSync(file, "utf8")) : "";
  writeFileSync(file, renderMarkdown(r) + kept);
}
