/**
 * The operator's side of the Bayesian suggestion process (suggest.py next to this file): starts
 * it on first use, restarts it when it has died, and matches answers to requests by id. The
 * process is stateless (each request carries the sweep's history), so a restart loses nothing.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { SweepParameter } from "../../api/v1alpha1/index.js";
import type { Point } from "../space.js";

export interface SuggestionRequest {
  algorithm: "TPE" | "GP";
  goal: "Maximize" | "Minimize";
  seed: number;
  startupTrials: number;
  space: readonly SweepParameter[];
  trials: readonly { parameters: Point; state: "COMPLETE" | "RUNNING" | "FAIL"; value?: number }[];
  count: number;
}

export interface Suggester {
  suggest(req: SuggestionRequest): Promise<Point[]>;
}

export class SuggestionUnavailableError extends Error {
  override readonly name = "SuggestionUnavailableError";
  /** The process died while the request was open (as opposed to answering with an error). */
  constructor(message: string, readonly processDied = false) {
    super(message);
  }
}

/** suggest.py in the source tree; the compiled operator (dist/src/...) falls back to it as well. */
export function suggestionScriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, "suggest.py");
  if (existsSync(beside)) return beside;
  return join(here, "..", "..", "..", "..", "src", "sweep", "suggestion", "suggest.py");
}

interface Pending { resolve: (p: Point[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export interface SuggestionProcessOptions {
  /** Python with optuna installed (hack/suggestion-env.sh builds one). */
  python: string;
  script?: string;
  timeoutMs?: number;
  onRestart?: () => void;
}

export class SuggestionProcess implements Suggester {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = "";
  /** Processes started so far (1 after the first use; each restart adds one). */
  starts = 0;

  constructor(private readonly opts: SuggestionProcessOptions) {}

  /** The running process's pid, if any (tests kill it to prove restarts). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Asks for suggestions; a process that dies meanwhile is restarted and asked once more. */
  async suggest(req: SuggestionRequest): Promise<Point[]> {
    try {
      return await this.ask(req);
    } catch (err) {
      if (!(err instanceof SuggestionUnavailableError && err.processDied)) throw err;
      return this.ask(req);
    }
  }

  private ask(req: SuggestionRequest): Promise<Point[]> {
    const child = this.ensureStarted();
    const id = this.nextId++;
    return new Promise<Point[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SuggestionUnavailableError(`suggestion process gave no answer within ${this.opts.timeoutMs ?? 60_000} ms`));
      }, this.opts.timeoutMs ?? 60_000);
      this.pending.set(id, { resolve, reject, timer });
      child.stdin.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  stop(): void {
    this.child?.kill("SIGTERM");
    this.child = undefined;
  }

  private ensureStarted(): ChildProcessWithoutNullStreams {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    if (this.starts > 0) this.opts.onRestart?.();
    this.starts++;
    this.stderrTail = "";
    const child = spawn(this.opts.python, ["-u", this.opts.script ?? suggestionScriptPath()], { stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    createInterface({ input: child.stdout }).on("line", (line) => this.onLine(line));
    child.stderr.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2000);
    });
    // A dead process fails what it was asked; the next request starts a new one.
    const fail = (why: string): void => {
      if (this.child === child) this.child = undefined;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new SuggestionUnavailableError(`suggestion process ${why}${this.stderrTail ? `: ${this.stderrTail.trim().split("\n").slice(-3).join(" | ")}` : ""}`, true));
        this.pending.delete(id);
      }
    };
    child.on("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    child.on("error", (err) => fail(`could not start ${this.opts.python}: ${err.message}`));
    child.stdin.on("error", () => { /* the exit handler reports it */ });
    return child;
  }

  private onLine(line: string): void {
    let msg: { id?: number; suggestions?: Point[]; error?: string };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
    if (!p || msg.id === undefined) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error !== undefined || !msg.suggestions) p.reject(new SuggestionUnavailableError(msg.error ?? "no suggestions"));
    else p.resolve(msg.suggestions);
  }
}
