import { systemClock, type Clock } from "./clock.js";

/** Decides how long a key waits before its next retry (client-go's workqueue.RateLimiter). */
export interface RateLimiter {
  /** Delay in ms for the next retry of `key`; records one more failure. */
  when(key: string): number;
  /** Resets the failure history of `key` (call on success or a deliberate poll). */
  forget(key: string): void;
  /** Failures recorded for `key` since the last forget. */
  numRequeues(key: string): number;
}

/** Per-key exponential back-off: base · 2^failures, capped at max. */
export class ExponentialBackoffRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(private readonly baseMs = 1_000, private readonly maxMs = 300_000) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity for large n; Math.min still caps it correctly.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * Global token bucket shared by all keys (golang.org/x/time/rate semantics as used by client-go's
 * BucketRateLimiter): tokens refill at `qps`, up to `burst`; a reservation may drive the balance
 * negative, and the caller waits until it would be repaid.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(private readonly qps = 10, private readonly burst = 100, private readonly clock: Clock = systemClock) {
    this.tokens = burst;
    this.last = clock.now();
  }

  when(_key: string): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The slowest of several limiters wins (client-go's MaxOfRateLimiter). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.numRequeues(key)));
  }
}

export interface ControllerRateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/**
 * client-go's DefaultTypedControllerRateLimiter shape with a per-key back-off of 1 s → 5 min
 * instead of 5 ms → 1000 s: our errors are mostly API or cloud calls where 5 ms is pointless.
 */
export function defaultControllerRateLimiter(opts: ControllerRateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ExponentialBackoffRateLimiter(opts.baseDelayMs ?? 1_000, opts.maxDelayMs ?? 300_000),
    new TokenBucketRateLimiter(opts.qps ?? 10, opts.burst ?? 100, opts.clock ?? systemClock),
  );
}
