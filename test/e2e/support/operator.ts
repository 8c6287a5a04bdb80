// Runs the real operator as a child process against the local cluster, the way the image runs it
// (`node dist/src/main.js`, compiled by `make build`), so tests can also SIGKILL and restart it mid-run.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { clusterKubeconfig, deleteNamespace, kubectl, repoRoot, waitFor } from "../../cluster/kubectl.js";
import { clusterServicesEnv } from "./services.js";

export interface RunningOperator {
  process: ChildProcess;
  healthPort: number;
  metricsPort: number;
  logFile: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function installCrds(): Promise<void> {
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, "deploy/crds")]);
  for (const plural of ["computetargets", "runconfigurations", "trainingruns", "sweeps"]) {
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${plural}.amlcompute.dev`]);
  }
}

let counter = 0;

/** The compiled entry point, as the Dockerfile runs it. */
export const operatorEntry = join(repoRoot, "dist", "src", "main.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const t = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

let built = false;

/**
 * Builds dist/ (`npm run build`: tsc + non-TypeScript assets) when it is missing or older than any
 * file under src/, once per process: a test must never run yesterday's compiled operator.
 */
export function ensureOperatorBuilt(): void {
  if (built) return;
  let stale = true;
  try {
    stale = statSync(operatorEntry).mtimeMs < newestMtime(join(repoRoot, "src"));
  } catch {
    stale = true;
  }
  if (stale) execFileSync("npm", ["run", "--silent", "build"], { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
  built = true;
}

/**
 * Starts the operator scoped to env.WATCH_NAMESPACE (required): test files and developers share
 * one cluster, and an unscoped operator would reconcile every other test's objects too.
 */
export async function startOperator(env: Record<string, string> = {}): Promise<RunningOperator> {
  if (!env.WATCH_NAMESPACE) {
    throw new Error("startOperator needs env.WATCH_NAMESPACE (create the test namespace first, then start an operator scoped to it)");
  }
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const logDir = join(repoRoot, ".cluster", "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `operator-e2e-${process.pid}-${++counter}.log`);
  const log = createWriteStream(logFile);
  ensureOperatorBuilt();
  const child = spawn(process.execPath, ["--enable-source-maps", operatorEntry], {
    cwd: repoRoot,
    env: {
      // The run data plane's store (Azurite) and other embedded services, as cluster-up wrote them.
      ...process.env, ...clusterServicesEnv(), KUBECONFIG: clusterKubeconfig, HEALTH_PORT: String(healthPort), METRICS_PORT: String(metricsPort),
      // The test cluster's administrator allows node caches under /var/lib/amlcompute (DEV_CACHE).
      LOG_LEVEL: "debug", LOCAL_ALLOWED_HOST_PATH_PREFIXES: "/var/lib/amlcompute", ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await waitFor(`operator /readyz (log: ${logFile})`, 60_000, async () => {
    if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}; see ${logFile}`);
    const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
    return res?.ok ?? false;
  });
  return { process: child, healthPort, metricsPort, logFile };
}

/** SIGTERM (graceful) or SIGKILL (crash); resolves when the process is gone. */
export async function stopOperator(op: RunningOperator | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!op || op.process.exitCode !== null || op.process.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => op.process.once("exit", () => resolve()));
  op.process.kill(signal);
  const timer = setTimeout(() => op.process.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Ends a test file: its runs and sweeps deleted while its operator still runs (their finalizers
 * need it; bounded, a stuck one only costs the wait), then the operator stopped and the namespace
 * deleted. Stopping the operator first left namespaces Terminating for good.
 */
export async function endTest(op: RunningOperator | undefined, ns: string | undefined): Promise<void> {
  if (ns && op) await kubectl(["-n", ns, "delete", "sweeps,trainingruns", "--all", "--wait=true", "--timeout=60s"], { allowFail: true });
  await stopOperator(op);
  if (ns) await deleteNamespace(ns);
}

export async function metricsText(op: RunningOperator): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`);
  return res.text();
}
