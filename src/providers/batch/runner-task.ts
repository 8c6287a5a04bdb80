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
export function batchCommandLine(sub: Pick<Attempt, "argv" | "interpreterNeeded" | "config">): string {
  const argv = sub.interpreterNeeded ? [sub.config.environment?.userManaged?.interpreterPath ?? "python3", ...sub.argv] : [...sub.argv];
  const runner = runnerArgv("all", {
    script: `${RUNNER_DIR}/${RUNNER_FILE}`, workdir: SOURCE_DIR, log: `${RUNNER_DIR}/output.log`, killAfterSeconds: KILL_AFTER_SECONDS,
    syncOutputsSeconds: SYNC_OUTPUTS_SECONDS,
  }, argv);
  return `/bin/bash -c ${renderCommand([`exec ${renderCommand(runner)}`])}`;
}

/**
 * nodeCount > 1: one multi-instance task on that many nodes (Batch's way to run MPI/distributed
 * work). Every node gets the runner (common resource files, in the task's shared directory) and
 * runs no coordination step of its own; the primary runs the command line (materializing the
 * snapshot in its working directory), the others are reached through AZ_BATCH_HOST_LIST as
 * distributed launchers (mpirun, torchrun) expect.
 */
function multiInstance(sub: Attempt, files: readonly Record<string, unknown>[]): Record<string, unknown> {
  if (sub.config.nodeCount <= 1) return {};
  return { multiInstanceSettings: { numberOfInstances: sub.config.nodeCount, coordinationCommandLine: "/bin/true", commonResourceFiles: files } };
}

/** The task body's data-plane part: command line, the runner as resource file, environment. */
export async function runnerTask(sub: Attempt, storage: AttemptStorage): Promise<Record<string, unknown>> {
  const env = {
    ...(sub.config.environmentVariables ?? {}),
    AMLCOMPUTE_RUN_ID: sub.runId, AMLCOMPUTE_ATTEMPT: String(sub.number), PYTHONUNBUFFERED: "1",
    ...(await storage.runnerEnv()),
  };
  const resourceFiles = [{ httpUrl: await storage.runnerUrl(), filePath: `${RUNNER_DIR}/${RUNNER_FILE}`, fileMode: "0644" }];
  return {
    commandLine: batchCommandLine(sub),
    resourceFiles,
    ...multiInstance(sub, resourceFiles),
    environmentSettings: Object.entries(env).map(([name, value]) => ({ name, value })),
  };
}
