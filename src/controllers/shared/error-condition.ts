import { isReason, type Reason } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import type { KubeObject, ResourceKind } from "../../kube/types.js";
import { ConflictError, TerminalError, TransientError } from "../../runtime/errors.js";
import type { Result } from "../../runtime/result.js";
import { writeStatusIfChanged } from "./status-writer.js";

/** What a condition shows for an error, and whether retrying can help. */
export interface ErrorVerdict {
  readonly reason: Reason;
  readonly message: string;
  /** Error: a human must change something (spec, Secret, permissions); Warning: retrying. */
  readonly severity: "Error" | "Warning";
  /** A retry will not help until the object or what it references changes. */
  readonly terminal: boolean;
}

/**
 * Maps any error to its condition. The error's own reason (set by the layer that classified it: a
 * provider, the SSH or kube layer) is kept when it is one of the API's reasons; generic ones
 * ("Terminal", "Transient", anything unknown) become `fallback`.
 */
export function classifyForCondition(err: unknown, fallback: Reason): ErrorVerdict {
  const message = err instanceof Error ? err.message : String(err);
  const own = err instanceof TerminalError || err instanceof TransientError ? err.reason : undefined;
  const reason = own !== undefined && isReason(own) ? own : fallback;
  const terminal = err instanceof TerminalError;
  return { reason, message, severity: terminal ? "Error" : "Warning", terminal };
}

export interface ErrorPath<T extends KubeObject> {
  readonly kube: KubeClient;
  readonly kind: ResourceKind;
  /** The object as the reconcile last read or wrote it (its resourceVersion guards the write). */
  readonly current: () => T;
  /** The reason when the error carries none of its own (e.g. SubmissionFailed once a run submits). */
  readonly fallback: () => Reason;
  /** The status that shows the error: pure, per kind (phase and conditions kept consistent). */
  readonly statusFor: (verdict: ErrorVerdict) => T["status"];
  /** Told about the write, e.g. to remember the resourceVersion it replaced. */
  readonly wrote?: (before: T, after: T) => void;
}

/**
 * The one error → condition path of every controller (TrainingRun, ComputeTarget,
 * RunConfiguration, and kinds added later): whatever gather, observe, act or cleanup throws is
 * written as a condition with its reason (one status write), then rethrown so the work queue
 * decides: transient errors retry with per-key exponential back-off (or the error's Retry-After),
 * terminal ones wait for a change to the object or a watched dependency. Never silence until a
 * resync. A ConflictError (stale read) is rethrown untouched: the queue retries, nothing to show.
 */
export async function reportingErrors<T extends KubeObject>(path: ErrorPath<T>, reconcile: () => Promise<Result>): Promise<Result> {
  try {
    return await reconcile();
  } catch (err) {
    if (err instanceof ConflictError) throw err;
    const verdict = classifyForCondition(err, path.fallback());
    const obj = path.current();
    try {
      const written = await writeStatusIfChanged(path.kube, path.kind, obj, path.statusFor(verdict));
      path.wrote?.(obj, written);
    } catch {
      // The status write failed too (object gone, stale read): the retry of `err` tries again.
    }
    throw err;
  }
}
