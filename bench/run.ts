// `make bench`: first the side-by-side comparison (plain Jobs, Kubeflow PyTorchJobs, TrainingRuns),
// then the operator's own figures — latency apply → Job and pod exit → final status, API requests per
// run, RSS and startup — written to bench/results/latest.json and BENCHMARKS.md.
// BENCH_FAST=1: only the comparison at N=10, once, written to bench/results/fast.json (development loop).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { repoRoot, requireCluster } from "../test/cluster/kubectl.js";
import { installCrds } from "../test/e2e/support/operator.js";
import { BenchCluster } from "./cluster.js";
import { measureDataPlane, renderDataPlane } from "./data-plane.js";
import { benchAzure } from "./azure.js";
import { describeMachine } from "./machine.js";
import { deleteAllNamespaces } from "./namespaces.js";
import { renderTables, writeResults, type BenchResults, type RemoteVmResult } from "./report.js";
import { measureApplyToJob } from "./scenarios/job-latency.js";
import { measureMemory } from "./scenarios/memory.js";
import { measureRealRuns } from "./scenarios/real-runs.js";
import { comparisonOptionsFromEnv, runComparison } from "./compare/run.js";
import { renderComparison } from "./compare/report.js";

const REMOTE_VM_NOTE = "measured by bench/remote-vm.ts when present";

/**
 * Refuses to run when another cluster-wide operator reconciles the cluster: it would share the work
 * and skew every number. Operators scoped to a namespace (WATCH_NAMESPACE: teammates' e2e tests)
 * never touch the bench's namespaces and are allowed.
 */
function assertNoOtherOperator(): void {
  let out = "";
  try {
    out = execFileSync("pgrep", ["-f", "src/main\\.(ts|js)"], { encoding: "utf8" });
  } catch {
    return; // pgrep exits 1 when nothing matches
  }
  const unscoped = out.split("\n").map((l) => l.trim()).filter((pid) => pid && pid !== String(process.pid)).filter((pid) => {
    try {
      return !readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").some((kv) => /^WATCH_NAMESPACE=./.test(kv));
    } catch {
      return false; // gone already
    }
  });
  if (unscoped.length > 0) throw new Error(`a cluster-wide operator is running against the cluster (pid ${unscoped.join(", ")}); stop it first`);
}

/** bench/remote-vm.ts (a real sshd on 127.0.0.1) when it exists; placeholders otherwise. */
async function remoteVm(): Promise<RemoteVmResult> {
  const url = new URL("./remote-vm.ts", import.meta.url);
  if (!existsSync(url)) return { secondRunUploadBytes: null, secondRunEnvReuseMs: null, note: REMOTE_VM_NOTE };
  const mod = (await import(url.href)) as { benchRemoteVm: () => Promise<{ second: { uploadBytes: number; seconds: number } }> };
  const raw = await mod.benchRemoteVm().catch((err: unknown) => err as Error);
  if (raw instanceof Error) return { secondRunUploadBytes: null, secondRunEnvReuseMs: null, note: `bench/remote-vm.ts failed: ${raw.message}` };
  return {
    secondRunUploadBytes: raw.second.uploadBytes, secondRunEnvReuseMs: Math.round(raw.second.seconds * 1000),
    note: "measured by bench/remote-vm.ts (second run of an unchanged 60-file source, system-managed env)", raw,
  };
}

/** bench/azure.ts: ARM requests per provisioning and under throttling (emulator, no cluster needed). */
async function azure(): Promise<Pick<BenchResults, "azure" | "azureError">> {
  try {
    return { azure: await benchAzure() };
  } catch (err) {
    return { azure: null, azureError: err instanceof Error ? err.message : String(err) };
  }
}

/** The machine's 1-minute load average when each step started (teammates' tests share the machine). */
const loadAtStep: Record<string, number> = {};
const step = (msg: string): void => {
  const load = Math.round((loadavg()[0] ?? 0) * 10) / 10;
  loadAtStep[msg.split(":")[0] ?? msg] = load;
  console.log(`[bench ${new Date().toISOString().slice(11, 19)} load ${load}] ${msg}`);
};

async function main(): Promise<void> {
  const started = performance.now();
  await requireCluster();
  assertNoOtherOperator();
  await installCrds();
  const comparison = await runComparison(comparisonOptionsFromEnv(step));
  console.log(`\n${renderComparison(comparison)}`);
  if (process.env.BENCH_FAST === "1") {
    writeFileSync(join(repoRoot, "bench", "results", "fast.json"), JSON.stringify(comparison, null, 2) + "\n");
    console.log("wrote bench/results/fast.json (BENCH_FAST=1: BENCHMARKS.md unchanged)");
    return;
  }
  const bench = new BenchCluster();
  await bench.start();
  try {
    // Every step below has its own namespace and an operator scoped to it (WATCH_NAMESPACE):
    // nothing else on the cluster is reconciled by a bench operator.
    step("real runs: N=1, then N=10");
    const one = await measureRealRuns(bench, 1);
    const realRuns = [one.result, (await measureRealRuns(bench, 10)).result];
    step(`real runs measured: ${JSON.stringify(realRuns)}`);
    step("memory: 1k then 10k suspended TrainingRuns, then a restart with 10k");
    const memory = await measureMemory(bench);
    step(`memory measured: ${JSON.stringify({ idle: one.idle, ...memory })}`);
    step("apply → Job with Pending pods: N=100, then N=1000");
    const pendingRuns = [await measureApplyToJob(bench, 100, 120_000), await measureApplyToJob(bench, 1000, 420_000)];
    step(`pending runs measured: ${JSON.stringify(pendingRuns)}`);
    const results: BenchResults = {
      machine: await describeMachine(),
      durationSec: 0,
      comparison,
      operator: { idleRssMiB: one.idle.idleRssMiB, firstStartReadyMs: one.idle.readyMs },
      realRuns, pendingRuns, memory,
      loadAverageAtStep: loadAtStep,
      remoteVM: await remoteVm(),
      ...(await azure()),
    };
    step("cleaning up");
    await deleteAllNamespaces();
    results.durationSec = Math.round((performance.now() - started) / 1000);
    writeResults(repoRoot, results);
    console.log(`\n${renderTables(results)}\n\nwrote bench/results/latest.json and BENCHMARKS.md (${results.durationSec} s)`);
    step("run data plane: 100 MB submit, re-submit, Local materialization (bench/data-plane.ts)");
    const dataPlane = await measureDataPlane();
    writeFileSync(join(repoRoot, "bench", "results", "data-plane.json"), JSON.stringify(dataPlane, null, 2) + "\n");
    console.log(`\n${renderDataPlane(dataPlane)}\nwrote bench/results/data-plane.json`);
  } finally {
    await deleteAllNamespaces().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
    bench.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
