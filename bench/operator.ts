// The operator under test: a child process (dist/src/main.js, as the image runs it) started like the e2e tests start it, plus
// what the benchmark reads from outside — /readyz timing, VmRSS and rest_client_requests_total.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { clusterKubeconfig, repoRoot } from "../test/cluster/kubectl.js";
import { clusterServicesEnv } from "../test/e2e/support/services.js";
import { ensureOperatorBuilt, freePort, operatorEntry, stopOperator, type RunningOperator } from "../test/e2e/support/operator.js";

export type { RunningOperator };
export { stopOperator };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let launches = 0;
const children = new Set<RunningOperator["process"]>();
// An interrupted bench must not leave an operator reconciling the cluster behind it.
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

/**
 * Starts the operator (info logging, as in production) and times spawn → first 200 from /readyz,
 * polled every 20 ms (the e2e helper polls every 500 ms). A start that fails kills the child.
 */
export async function launchOperator(env: Record<string, string> = {}): Promise<{ op: RunningOperator; readyMs: number }> {
  const [healthPort, metricsPort] = [await freePort(), await freePort()];
  const logDir = join(repoRoot, ".cluster", "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `operator-bench-${process.pid}-${++launches}.log`);
  ensureOperatorBuilt();
  const started = performance.now();
  const child = spawn(process.execPath, [operatorEntry], {
    cwd: repoRoot,
    // The run data plane's store (Azurite) as cluster-up wrote it: runs need it to start.
    env: { ...process.env, ...clusterServicesEnv(), KUBECONFIG: clusterKubeconfig, HEALTH_PORT: String(healthPort), METRICS_PORT: String(metricsPort), LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const op: RunningOperator = { process: child, healthPort, metricsPort, logFile };
  while (performance.now() - started < 120_000 && child.exitCode === null) {
    const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
    if (res?.ok) return { op, readyMs: performance.now() - started };
    await sleep(20);
  }
  await stopOperator(op, "SIGKILL");
  throw new Error(`operator did not become ready (log: ${logFile})`);
}

/** Resident set size of the operator process in MiB (VmRSS from /proc/<pid>/status). */
export function rssMiB(op: RunningOperator): number {
  const status = readFileSync(`/proc/${op.process.pid}/status`, "utf8");
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kib / 1024) * 10) / 10;
}

export { deltaOf, requestsByMethod, requestsByVerbAndKind, sumSeries, totalOf, waitIdle } from "../test/e2e/support/operator-metrics.js";
