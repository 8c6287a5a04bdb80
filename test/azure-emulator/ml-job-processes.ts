import { spawn, type ChildProcess } from "node:child_process";

/**
 * The processes of an emulated Azure ML command job. Without a distribution a job is one process
 * whose output Azure ML keeps in `user_logs/std_log.txt`. With one (PyTorch, Mpi, TensorFlow) it
 * is one process per rank, and each rank's output goes to its own `user_logs/std_log_process_NN.txt`
 * (NN the two-digit rank); no plain std_log.txt is written. The job's exit status is not reported
 * as a number anywhere: a job is Completed when every process exits 0, Failed otherwise.
 */

interface Distribution { distributionType?: string; processCountPerInstance?: number | null; workerCount?: number | null; parameterServerCount?: number }

export interface ProcessLayout {
  readonly count: number;
  logName(rank: number): string;
}

export function processLayout(props: { distribution?: Distribution | null; resources?: { instanceCount?: number } }): ProcessLayout {
  const d = props.distribution;
  const instances = props.resources?.instanceCount ?? 1;
  if (!d) return { count: 1, logName: () => "std_log.txt" };
  const count = d.distributionType === "TensorFlow"
    ? (d.workerCount ?? instances) + (d.parameterServerCount ?? 0)
    : instances * (d.processCountPerInstance ?? 1);
  return { count: Math.max(1, count), logName: (rank) => `std_log_process_${String(rank).padStart(2, "0")}.txt` };
}

/** Starts every rank of the command (bash -c, in its own process group) with the rank variables a launcher sets. */
export function startProcesses(opts: {
  command: string; cwd: string; env: NodeJS.ProcessEnv; count: number; onOutput: (rank: number, text: string) => void;
}): { children: ChildProcess[]; exitCodes: Promise<number[]> } {
  const children = Array.from({ length: opts.count }, (_, rank) => {
    const child = spawn("bash", ["-c", opts.command], {
      cwd: opts.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"],
      env: { ...opts.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(opts.count), OMPI_COMM_WORLD_RANK: String(rank), OMPI_COMM_WORLD_SIZE: String(opts.count) },
    });
    child.stdout?.on("data", (b: Buffer) => opts.onOutput(rank, b.toString()));
    child.stderr?.on("data", (b: Buffer) => opts.onOutput(rank, b.toString()));
    return child;
  });
  const exitCodes = Promise.all(children.map((c) => new Promise<number>((resolve) => {
    c.once("error", () => resolve(127));
    c.once("close", (code, sig) => resolve(code ?? (sig ? 128 + 9 : 1)));
  })));
  return { children, exitCodes };
}
