import type { Logger } from "pino";
import type { ObjectKey } from "../kube/types.js";

/** What a reconcile asks of the queue. Mirrors controller-runtime's Result, minus `Requeue`. */
export interface Result {
  readonly requeueAfterMs?: number;
}
export const done = (): Result => ({});
export const requeueAfter = (ms: number): Result => ({ requeueAfterMs: Math.max(0, Math.round(ms)) });

/** Per-reconcile context: a child logger carrying controller/namespace/name/reconcileId. */
export interface ReconcileContext {
  readonly log: Logger;
  readonly reconcileId: string;
  /**
   * Aborts when the reconcile exceeds the controller's timeout or the manager shuts down. Controllers
   * hand it to providers (ProviderContext.signal) for their SDK/SSH calls.
   */
  readonly signal: AbortSignal;
}

/**
 * Brings one object's world to its spec. MUST be idempotent and level-based: it gets a key, never
 * the event that caused it.
 * - resolves done()           → forget back-off; wait for the next watch event
 * - resolves requeueAfter(ms) → poll again after ms (waiting on the outside world, not failing)
 * - throws                    → rate-limited retry with per-key exponential back-off
 * - throws TerminalError      → no retry until the object or a watched dependency changes
 */
export type Reconciler = (key: ObjectKey, ctx: ReconcileContext) => Promise<Result>;
