/**
 * Follows a TrainingRun to its end: streams the log of each attempt's pod as it appears (like
 * Azure ML's wait_for_completion(show_output=True)) and returns the finished run. When a pod is
 * gone before its log could be read (TTL, a fast failure), the run's status.outputTail is printed
 * instead so the user still sees the output.
 */
import type { Writable } from "node:stream";
import { TERMINAL_PHASES, type TrainingRun } from "../api/v1alpha1/index.js";
import type { CliKube } from "./kube.js";

/** Container of a Local run's pod (src/providers/local/job-builder.ts TRAIN_CONTAINER). */
export const TRAIN_CONTAINER = "train";
const POLL_MS = 1000;
/** How long to let a log stream drain after the run ended. */
const DRAIN_MS = 15_000;

export const isFinished = (run: TrainingRun): boolean => !!run.status?.phase && TRAIN_PHASES_DONE.has(run.status.phase);
const TRAIN_PHASES_DONE = new Set<string>(TERMINAL_PHASES);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FollowOptions { out: Writable; err: Writable; follow: boolean }

class PodLogs {
  private chain: Promise<void> = Promise.resolve();
  private current?: string;
  streamed = 0;

  constructor(private readonly kube: CliKube, private readonly opts: FollowOptions) {}

  /** Queues the pod's log after the previous attempt's (an attempt's pod replaces the last one). */
  offer(pod: string | undefined): void {
    if (!pod || pod === this.current) return;
    this.current = pod;
    this.chain = this.chain.then(() => this.stream(pod));
  }

  private async stream(pod: string): Promise<void> {
    try {
      await this.kube.streamLog(pod, TRAIN_CONTAINER, this.opts.out, this.opts.follow);
      this.streamed++;
    } catch (err) {
      // A pod still creating its container answers 400; it is retried on the next poll.
      if (this.current === pod) this.current = undefined;
      if (process.env.KUBECTL_AML_DEBUG) this.opts.err.write(`log of ${pod}: ${String(err)}\n`);
    }
  }

  async drain(): Promise<void> {
    await Promise.race([this.chain, sleep(DRAIN_MS)]);
  }
}

/** Polls the run, streaming pod logs, until it is Completed, Failed or Canceled. */
export async function followRun(kube: CliKube, name: string, opts: FollowOptions): Promise<TrainingRun> {
  const logs = new PodLogs(kube, opts);
  let run = await kube.getRun(name);
  let lastPhase = "";
  while (!isFinished(run)) {
    if (run.status?.phase && run.status.phase !== lastPhase) {
      lastPhase = run.status.phase;
      opts.err.write(`trainingrun/${name}: ${lastPhase}\n`);
    }
    logs.offer(run.status?.links?.podName);
    await sleep(POLL_MS);
    run = await kube.getRun(name);
  }
  logs.offer(run.status?.links?.podName);
  await logs.drain();
  if (logs.streamed === 0 && run.status?.outputTail) {
    opts.err.write("(no pod log could be streamed; showing the last lines kept in status.outputTail)\n");
    opts.out.write(withNewline(run.status.outputTail));
  }
  return run;
}

const withNewline = (s: string): string => (s.endsWith("\n") ? s : `${s}\n`);

/** The plugin's exit code for a finished run: the script's own, 1 when it has none, 0 on success. */
export function exitCodeOf(run: TrainingRun): number {
  if (run.status?.phase === "Completed") return 0;
  const code = run.status?.exitCode;
  return typeof code === "number" && code > 0 && code < 256 ? code : 1;
}

/** One line for stderr at the end: phase, reason and message of the Succeeded condition. */
export function summaryOf(run: TrainingRun): string {
  const c = run.status?.conditions?.find((x) => x.type === "Succeeded");
  const exit = run.status?.exitCode !== undefined ? ` (exit code ${run.status.exitCode})` : "";
  return `trainingrun/${run.metadata?.name}: ${run.status?.phase ?? "Unknown"}${exit}${c?.message ? `: ${c.message}` : ""}`;
}
