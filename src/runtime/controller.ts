import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { ObjectKey } from "../kube/types.js";
import type { OperatorMetrics, ReconcileResultLabel } from "../observability/metrics.js";
import { workQueueMetricsFor } from "../observability/metrics.js";
import type { ControllerSpec } from "./controller-spec.js";
import { ConflictError, TerminalError, TransientError } from "./errors.js";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.js";
import type { Result } from "./result.js";
import { WorkQueue } from "./workqueue.js";

export interface ControllerOptions {
  logger: Logger;
  metrics: OperatorMetrics;
  rateLimiter?: RateLimiter;
  /** Per-reconcile deadline passed down as ctx.signal (controller-runtime ReconciliationTimeout). */
  reconcileTimeoutMs?: number;
}

/** Queue key of an object; the namespace is "" for cluster-scoped kinds. */
export const queueKey = (key: ObjectKey): string => `${key.namespace}/${key.name}`;

export function parseQueueKey(s: string): ObjectKey {
  const slash = s.indexOf("/");
  return { namespace: s.slice(0, slash), name: s.slice(slash + 1) };
}

/**
 * The worker loop and the Result/throw contract (see result.ts). One queue per
 * controller; `concurrency` workers pull keys; the queue guarantees a key is never reconciled twice
 * at once.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly workers: Promise<void>[] = [];
  private readonly shutdown = new AbortController();
  private started = false;

  constructor(private readonly spec: ControllerSpec, private readonly opts: ControllerOptions) {
    this.name = spec.name;
    this.log = opts.logger.child({ controller: spec.name });
    this.queue = new WorkQueue({
      rateLimiter: opts.rateLimiter ?? defaultControllerRateLimiter(),
      metrics: workQueueMetricsFor(opts.metrics, spec.name),
      ...(spec.isUrgent ? { isUrgent: (k: string) => spec.isUrgent?.(parseQueueKey(k)) ?? false } : {}),
    });
  }

  enqueue(key: ObjectKey): void {
    this.queue.add(queueKey(key));
  }

  /** Starts the workers; they run until stop(). Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const concurrency = Math.max(1, this.spec.concurrency ?? 1);
    this.opts.metrics.maxConcurrentReconciles.set({ controller: this.name }, concurrency);
    this.opts.metrics.activeWorkers.set({ controller: this.name }, 0);
    for (let i = 0; i < concurrency; i++) this.workers.push(this.runWorker());
    this.log.info({ workerCount: concurrency }, "Starting workers");
  }

  /**
   * Shuts the queue down and waits up to `deadlineMs` for in-flight reconciles. Keys still queued are
   * dropped on purpose: reconciles are level-based, and the next start (or the next leader) relists.
   * Returns false when the deadline passed with reconciles still running (their signals are aborted).
   */
  async stop(deadlineMs = 30_000): Promise<boolean> {
    this.log.info("Shutdown signal received, waiting for all workers to finish");
    this.shutdown.abort(new Error("controller shutting down"));
    this.queue.shutDown();
    const all = Promise.all(this.workers).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    });
    const finished = await Promise.race([all, timeout]);
    clearTimeout(timer);
    if (!finished) this.log.warn({ deadlineMs }, "Workers did not finish before the shutdown deadline");
    else this.log.info("All workers finished");
    return finished;
  }

  private async runWorker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.shutdown.signal.aborted) {
        this.queue.done(key);
        continue;
      }
      await this.processKey(key);
    }
  }

  private async processKey(key: string): Promise<void> {
    const objectKey = parseQueueKey(key);
    const reconcileId = randomUUID();
    const log = this.log.child({ namespace: objectKey.namespace, name: objectKey.name, reconcileId });
    const signals = [this.shutdown.signal];
    if (this.opts.reconcileTimeoutMs) signals.push(AbortSignal.timeout(this.opts.reconcileTimeoutMs));
    const labels = { controller: this.name };
    const started = performance.now();
    this.opts.metrics.activeWorkers.inc(labels);
    try {
      const result = await this.spec.reconcile(objectKey, { log, reconcileId, signal: AbortSignal.any(signals) });
      this.handleResult(key, result);
    } catch (err) {
      this.handleError(key, err, log);
    } finally {
      this.opts.metrics.activeWorkers.dec(labels);
      this.opts.metrics.reconcileTime.observe(labels, (performance.now() - started) / 1000);
      this.queue.done(key);
    }
  }

  private handleResult(key: string, result: Result | undefined): void {
    // A requeueAfter is a deliberate poll, not a failure: reset back-off so the next error starts small.
    this.queue.forget(key);
    const after = result?.requeueAfterMs ?? 0;
    if (after > 0) {
      this.queue.addAfter(key, after);
      return this.count("requeue_after");
    }
    this.count("success");
  }

  private handleError(key: string, err: unknown, log: Logger): void {
    if (err instanceof ConflictError) {
      // Not counted as an error (cert-manager's optimistic-lock handling): a 409 on
      // our own write is expected churn. Rate-limited rather than an immediate add() because the
      // cache may still hold the stale resourceVersion until our own watch event lands, and an
      // immediate retry would conflict again in a tight loop; the watch event re-enqueues us anyway.
      log.debug({ err }, "Reconcile hit a conflict, requeuing");
      this.queue.addRateLimited(key);
      return this.count("requeue");
    }
    this.opts.metrics.reconcileErrors.inc({ controller: this.name });
    this.count("error");
    if (err instanceof TerminalError) {
      // controller-runtime: terminal errors are logged and counted but never retried; a change to the
      // object or a watched dependency brings the key back.
      this.opts.metrics.terminalReconcileErrors.inc({ controller: this.name });
      this.queue.forget(key);
      log.error({ err, reason: err.reason }, "Reconciler error (terminal, not requeued)");
      return;
    }
    if (err instanceof TransientError && err.retryAfterMs !== undefined) {
      log.warn({ err, retryAfterMs: err.retryAfterMs }, "Reconciler error, retrying after the requested delay");
      this.queue.addAfter(key, err.retryAfterMs);
      return;
    }
    log.error({ err }, "Reconciler error");
    this.queue.addRateLimited(key);
  }

  private count(result: ReconcileResultLabel): void {
    this.opts.metrics.reconcileTotal.inc({ controller: this.name, result });
  }
}
