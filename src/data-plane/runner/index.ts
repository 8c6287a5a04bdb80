/**
 * The runner script as shipped: src/data-plane/runner/aml_runner.py, copied next to the compiled
 * module by `npm run build` and the Dockerfile. Providers hand its text to targets (a ConfigMap
 * for Local pods, an upload for SSH machines) and start it with the arguments below.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const RUNNER_FILE = "aml_runner.py";

/** Exit codes of `materialize` (and `all`) when nothing was run. */
export const RunnerExit = { SnapshotCorrupt: 86, SnapshotUnavailable: 87, RunnerFailed: 88 } as const;

/** Environment the runner reads; both URLs carry a SAS and travel in Secrets, never in specs or logs. */
export const RunnerEnv = {
  snapshotUrl: "AML_SNAPSHOT_URL",
  snapshotDigest: "AML_SNAPSHOT_DIGEST",
  outputUrl: "AML_OUTPUT_URL",
} as const;

let cached: { text: string; hash: string } | undefined;

function locate(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Next to this module (source tree, or dist after the build's copy); else the source tree from dist.
  const candidates = [join(here, RUNNER_FILE), join(here, "..", "..", "..", "..", "src", "data-plane", "runner", RUNNER_FILE)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`${RUNNER_FILE} not found next to ${here}; the build must copy it (npm run build does)`);
  return found;
}

/** The runner's source and a short hash of it (names the per-namespace ConfigMap that carries it). */
export function runnerScript(): { text: string; hash: string } {
  if (!cached) {
    const text = readFileSync(locate(), "utf8");
    cached = { text, hash: createHash("sha256").update(text).digest("hex").slice(0, 12) };
  }
  return cached;
}

export interface RunnerCommand {
  readonly python?: string;
  readonly script: string;
  readonly workdir: string;
  readonly log?: string;
  readonly state?: string;
  readonly terminationLog?: string;
  readonly killAfterSeconds?: number;
  /** run/all: file that receives the command's process id (= its process group id) once started. */
  readonly pidFile?: string;
  /** run/all: upload what changed in ./outputs this often while the command runs (targets that may stop a task with SIGKILL). */
  readonly syncOutputsSeconds?: number;
}

/** argv of one runner invocation; `argv` is the user's command (script + arguments), never a shell line. */
export function runnerArgv(mode: "materialize" | "run" | "all", c: RunnerCommand, argv: readonly string[] = []): string[] {
  return [
    c.python ?? "python3", c.script, mode, "--workdir", c.workdir,
    ...(c.log ? ["--log", c.log] : []),
    ...(c.state ? ["--state", c.state] : []),
    ...(c.terminationLog ? ["--termination-log", c.terminationLog] : []),
    ...(c.killAfterSeconds !== undefined ? ["--kill-after", String(c.killAfterSeconds)] : []),
    ...(c.pidFile && mode !== "materialize" ? ["--pid-file", c.pidFile] : []),
    ...(c.syncOutputsSeconds !== undefined && mode !== "materialize" ? ["--sync-outputs", String(c.syncOutputsSeconds)] : []),
    ...(mode === "materialize" ? [] : ["--", ...argv]),
  ];
}

/** Reasons under which the runner refuses to run anything, as its exit codes and log lines give them. */
const REFUSAL_REASONS = "SnapshotCorrupt|SnapshotInvalid|SnapshotUnavailable|RunnerFailed";
const REFUSAL_LINE = new RegExp(`^aml-runner: (${REFUSAL_REASONS}): (.*)$`, "gm");
/** What `--termination-log` holds after a refusal: `<Reason>: <message>`. */
const REFUSAL_TERMINATION = new RegExp(`^(${REFUSAL_REASONS}): ([\\s\\S]*)$`);

const isRefusalExit = (exitCode: number | undefined): boolean =>
  exitCode !== undefined && (Object.values(RunnerExit) as readonly number[]).includes(exitCode);

/**
 * Why the runner ran nothing, read from its output, for targets whose own service keeps the log
 * and no result.json reaches the store by the time the attempt ends (an Azure ML job): the runner
 * exited 86–88 and printed `aml-runner: <Reason>: <message>`. Undefined for any other exit.
 */
export function runnerRefusal(log: string | undefined, exitCode: number | undefined): { reason: string; message: string } | undefined {
  if (!log || !isRefusalExit(exitCode)) return undefined;
  const last = [...log.matchAll(REFUSAL_LINE)].pop();
  return last ? { reason: last[1]!, message: last[2]!.trim() } : undefined;
}

/**
 * Why the runner ran nothing, from the termination message it wrote (`--termination-log`) and its
 * exit code 86–88: for targets that report a finished container's message (a Local pod).
 */
export function terminationRefusal(terminated: { exitCode?: number; message?: string } | undefined): { reason: string; message: string } | undefined {
  if (!isRefusalExit(terminated?.exitCode)) return undefined;
  const m = REFUSAL_TERMINATION.exec(terminated?.message ?? "");
  return m ? { reason: m[1]!, message: m[2]!.trim() } : undefined;
}
