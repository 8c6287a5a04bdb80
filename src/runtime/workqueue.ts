import { systemClock, type Clock } from "./clock.js";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.js";

/** Hooks the queue calls; src/observability/metrics.ts binds them to prom-client series. */
export interface WorkQueueMetrics {
  add(): void;
  depth(n: number): void;
  retry(): void;
  /** Seconds a key waited in the queue before a worker picked it up. */
  queueLatency(seconds: number): void;
  /** Seconds between get() and done() for one key. */
  workDuration(seconds: number): void;
}

export const noopWorkQueueMetrics: WorkQueueMetrics = {
  add: () => {}, depth: () => {}, retry: () => {}, queueLatency: () => {}, workDuration: () => {},
};

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  clock?: Clock;
  /**
   * Keys for which this returns true, whenever they are added, go to a second lane that workers
   * drain first (controller-runtime's priority queue idea): a burst of new objects must not delay
   * the ones already in flight. Default: one lane.
   */
  isUrgent?: (key: string) => boolean;
}

/** FIFO of keys with an O(1) pop that compacts now and then (shift() is O(n)). */
class Lane {
  private items: string[] = [];
  private head = 0;

  push(key: string): void {
    this.items.push(key);
  }

  /** Pops until `accept` takes a key (stale entries of promoted keys are skipped). */
  pop(accept: (key: string) => boolean): string | undefined {
    while (this.head < this.items.length) {
      const key = this.items[this.head++] as string;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (accept(key)) return key;
    }
    return undefined;
  }
}

/** The longest delay a Node timer can wait (2^31-1 ms, ~24.8 days); longer ones are clamped to it. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Urgent keys handed out in a row before a waiting normal key gets its turn. */
export const URGENT_STREAK = 4;

/**
 * client-go's rate-limited delaying work queue, same semantics:
 * - `queue` holds keys in order, `dirty` holds keys that need processing, `processing` holds keys a
 *   worker owns. add() of a dirty key is a no-op (N events → one reconcile); add() of a key being
 *   processed only marks it dirty, and done() re-queues it, so one key never runs twice at once.
 * - addAfter keeps the earliest deadline per key with one timer per key.
 * - After shutDown(), add() is ignored but keys already queued are still handed out, as in client-go;
 *   get() resolves undefined once the queue is empty.
 * - With `isUrgent`, urgent keys are handed out before the others (a queued key that becomes urgent
 *   moves ahead), but not forever: after URGENT_STREAK urgent keys in a row, a waiting normal key
 *   goes next. Strict priority let hundreds of started runs, each polled and woken by its pod's
 *   events, hold new runs back for minutes (500 runs: no submission for 90 s). Order within a lane
 *   stays FIFO.
 */
export class WorkQueue {
  private readonly normal = new Lane();
  private readonly urgent = new Lane();
  /** Keys waiting in a lane, and which one. */
  private readonly queued = new Map<string, "normal" | "urgent">();
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly enqueuedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { deadline: number; timer: NodeJS.Timeout }>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private shuttingDown = false;
  /** Urgent keys handed out since the last normal one. */
  private urgentStreak = 0;
  private readonly limiter: RateLimiter;
  private readonly metrics: WorkQueueMetrics;
  private readonly clock: Clock;

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.metrics = opts.metrics ?? noopWorkQueueMetrics;
    this.clock = opts.clock ?? systemClock;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      if (this.queued.get(key) === "normal" && this.isUrgent(key)) this.enqueue(key, "urgent");
      return;
    }
    this.metrics.add();
    this.dirty.add(key);
    this.enqueuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Number of keys waiting for a worker (not counting delayed or in-flight keys). */
  len(): number {
    return this.queued.size;
  }

  /** Resolves with the next key (now in `processing`), or undefined once shut down and empty. */
  get(): Promise<string | undefined> {
    const key = this.pop();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` finished; re-queues it if it was added again while being processed. */
  done(key: string): void {
    const started = this.startedAt.get(key);
    if (started !== undefined) this.metrics.workDuration((this.clock.now() - started) / 1000);
    this.startedAt.delete(key);
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) this.drainWaiters.splice(0).forEach((resolve) => resolve());
  }

  addAfter(key: string, requestedMs: number): void {
    if (this.shuttingDown) return;
    this.metrics.retry();
    if (requestedMs <= 0) return this.add(key);
    // Beyond the limit setTimeout fires at once (a hot loop); the reconcile then asks again for the rest.
    const delayMs = Math.min(requestedMs, MAX_DELAY_MS);
    const deadline = this.clock.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing && existing.deadline <= deadline) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.waiting.set(key, { deadline, timer });
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting keys, cancels delayed keys and wakes idle getters with undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    if (this.len() === 0) this.getters.splice(0).forEach((resolve) => resolve(undefined));
  }

  /** shutDown(), then resolves once every in-flight key is done() (client-go ShutDownWithDrain). */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private isUrgent(key: string): boolean {
    return this.opts.isUrgent?.(key) ?? false;
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) return getter(this.take(key));
    this.enqueue(key, this.isUrgent(key) ? "urgent" : "normal");
    this.metrics.depth(this.len());
  }

  private enqueue(key: string, lane: "normal" | "urgent"): void {
    this.queued.set(key, lane);
    (lane === "urgent" ? this.urgent : this.normal).push(key);
  }

  private pop(): string | undefined {
    if (this.len() === 0) return undefined;
    const urgent = (): string | undefined => this.urgent.pop((k) => this.queued.get(k) === "urgent");
    const normal = (): string | undefined => this.normal.pop((k) => this.queued.get(k) === "normal");
    const key = this.urgentStreak >= URGENT_STREAK ? (normal() ?? urgent()) : (urgent() ?? normal());
    if (key === undefined) return undefined;
    this.urgentStreak = this.queued.get(key) === "urgent" ? this.urgentStreak + 1 : 0;
    this.metrics.depth(this.len() - 1);
    return this.take(key);
  }

  private take(key: string): string {
    const now = this.clock.now();
    const enqueued = this.enqueuedAt.get(key);
    if (enqueued !== undefined) this.metrics.queueLatency((now - enqueued) / 1000);
    this.enqueuedAt.delete(key);
    this.queued.delete(key);
    this.startedAt.set(key, now);
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }
}
