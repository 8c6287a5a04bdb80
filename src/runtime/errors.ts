/**
 * Error classes every boundary maps its failures into. The worker loop reads the
 * class to choose between back-off, a fixed delay, or no retry.
 */

/** A retry will not help until the input changes. The worker logs it and does not requeue. */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
  constructor(message: string, readonly reason = "Terminal", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Worth retrying; `retryAfterMs` (e.g. from Retry-After) overrides the back-off when set.
 * `options.reason` (e.g. Unreachable, Throttled) is what a condition shows while retrying.
 */
export class TransientError extends Error {
  override readonly name = "TransientError";
  readonly reason: string;
  constructor(message: string, readonly retryAfterMs?: number, options?: ErrorOptions & { reason?: string }) {
    super(message, options);
    this.reason = options?.reason ?? "Transient";
  }
}

/** Optimistic-concurrency loss (HTTP 409). Retried at once, not counted as a failure. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
  constructor(message: string, readonly alreadyExists = false, options?: ErrorOptions) {
    super(message, options);
  }
}

/** HTTP 404. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/** HTTP 400/422: the server refused the object itself (schema, CEL, immutable field). */
export class InvalidError extends TerminalError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "Invalid", options);
  }
}

/**
 * A Retry-After header (delay-seconds or an HTTP date) in ms; undefined when absent or unparseable.
 * The one parser for every HTTP client (API server, ARM, Batch, Databricks), so a TransientError's
 * retryAfterMs means the same everywhere.
 */
export function parseRetryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
