/**
 * How a Batch task runs an attempt through the data-plane runner:
 * - the runner script is the task's only resource file (`.aml/aml_runner.py`, a read SAS URL to
 *   its content-addressed object in the snapshots container);
 * - the runner fetches the snapshot manifest and objects from the run store, verifies them and
 *   writes them into `src/` (created empty under the task's working directory), runs the command
 *   there and uploads `src/outputs/**`, its log and result.json under the attempt's prefix;
 * - the SAS URLs travel in the task's environmentSettings: Batch has no secret task settings, so
 *   they are readable by principals allowed to read the account's jobs (as the SAS URLs of Batch's
 *   own resourceFiles/outputFiles are). They are short-lived, never in Kubernetes status, Events or
 *   logs, and the runner removes them from the command's environment.
 */
import type { AttemptStorage } from "../../data-plane/data-plane.js";
import { runnerArgv, RUNNER_FILE } from "../../data-plane/runner/index.js";
import { renderCommand } from "../shared/shell-quote.js";
import type { Attempt } from "../types.js";

/** Directory under the task's working directory that holds the snapshot: the script's working directory. */
export const SOURCE_DIR = "src";
const RUNNER_DIR = ".aml";
/** Seconds between the runner forwarding SIGTERM (task terminate) and killing the command. */
const KILL_AFTER_SECONDS = 20;
/**
 * Seconds between the runner's uploads of what changed in ./outputs while the command runs. Task -
 * Terminate documents no signal or grace period ("when the Task has been terminated, it moves to
 * the completed state"; Batch REST reference, Task - Terminate), so a terminated task keeps what
 * its outputs held at the last upload, and everything when the runner gets a SIGTERM first.
 */
export const SYNC_OUTPUTS_SECONDS = 10;

/**
 * The task's command line. Batch does not run it under a shell, so it invokes bash explicitly;
 * every argument is POSIX-quoted (nothing a user wrote is spliced raw).
 */
const commandOf = (sub: Pick<Attempt, "argv" | "interpreterNeeded" | "config">): string[] =>
  sub.interpreterNeeded ? [sub.config.environment?.userManaged?.interpreterPath ?? "python3", ...sub.argv] : [...sub.argv];

export function batchCommandLine(sub: Pick<Attempt, "argv" | "interpreterNeeded" | "config">): string {
  const argv = commandOf(sub);
  const runner = runnerArgv("all", {
    script: `${RUNNER_DIR}/${RUNNER_FILE}`, workdir: SOURCE_DIR, log: `${RUNNER_DIR}/output.log`, killAfterSeconds: KILL_AFTER_SECONDS,
    syncOutputsSeconds: SYNC_OUTPUTS_SECONDS,
  }, argv);
  return `/bin/bash -c ${renderCommand([`exec ${renderCommand(runner)}`])}`;
}

/** Runner arguments that are shell expressions on the node (environment variables Batch sets). */
const ON_NODE = {
  runner: `"$AZ_BATCH_TASK_DIR"/${RUNNER_DIR}/${RUNNER_FILE}`,
  state: `"$AZ_BATCH_TASK_DIR"/${RUNNER_DIR}/snapshot.json`,
  log: `"$AZ_BATCH_TASK_DIR"/${RUNNER_DIR}/output.log`,
} as const;

/** A runner invocation in the multi-instance task's shared directory; only ON_NODE values stay unquoted. */
function inSharedDir(argv: readonly string[]): string {
  const raw = new Set<string>(Object.values(ON_NODE));
  const line = argv.map((a) => (raw.has(a) ? a : renderCommand([a]))).join(" ");
  return `/bin/bash -c ${renderCommand([`cd "$AZ_BATCH_TASK_SHARED_DIR" && exec ${line}`])}`;
}

/**
 * nodeCount > 1: one multi-instance task on that many nodes (Batch's way to run MPI/distributed
 * work). Every node — the primary and each subtask — gets the runner as a common resource file
 * (downloaded to the task's root directory, AZ_BATCH_TASK_DIR) and runs the coordination command:
 * the runner materializes and verifies the snapshot into `src/` of AZ_BATCH_TASK_SHARED_DIR, a
 * path Batch makes identical on every node, so a launcher (mpirun -wdir, torchrun) finds the same
 * tree at the same place everywhere. The primary then runs the command there (`run`); the other
 * nodes are reached through AZ_BATCH_HOST_LIST.
 */
function multiInstanceTask(sub: Attempt, argv: readonly string[], files: readonly Record<string, unknown>[]): Record<string, unknown> {
  const common = { script: ON_NODE.runner, workdir: SOURCE_DIR, state: ON_NODE.state };
  return {
    commandLine: inSharedDir(runnerArgv("run", { ...common, log: ON_NODE.log, killAfterSeconds: KILL_AFTER_SECONDS, syncOutputsSeconds: SYNC_OUTPUTS_SECONDS }, argv)),
    multiInstanceSettings: {
      numberOfInstances: sub.config.nodeCount,
      coordinationCommandLine: inSharedDir(runnerArgv("materialize", common)),
      commonResourceFiles: files,
    },
  };
}

/** The task body's data-plane part: command line, the runner as resource file, environment. */
export async function runnerTask(sub: Attempt, storage: AttemptStorage): Promise<Record<string, unknown>> {
  const env = {
    ...(sub.config.environmentVariables ?? {}),
    AMLCOMPUTE_RUN_ID: sub.runId, AMLCOMPUTE_ATTEMPT: String(sub.number), PYTHONUNBUFFERED: "1",
    ...(await storage.runnerEnv()),
  };
  const runnerFile = [{ httpUrl: await storage.runnerUrl(), filePath: `${RUNNER_DIR}/${RUNNER_FILE}`, fileMode: "0644" }];
  const environmentSettings = Object.entries(env).map(([name, value]) => ({ name, value }));
  if (sub.config.nodeCount > 1) return { ...multiInstanceTask(sub, commandOf(sub), runnerFile), environmentSettings };
  return { commandLine: batchCommandLine(sub), resourceFiles: runnerFile, environmentSettings };
}
