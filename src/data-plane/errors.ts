/**
 * Store failures mapped onto the operator's error classes with reasons a run's conditions show.
 * Messages name the store (host, container) and the HTTP status, never a URL with its query: a
 * SAS is a password.
 */
import { RunReason } from "../api/v1alpha1/conditions.js";
import { TerminalError, TransientError } from "../runtime/errors.js";

/** The data plane's reasons (documented with RunReason). */
export const StoreReason = {
  Unavailable: RunReason.StoreUnavailable,
  AccessDenied: RunReason.StoreAccessDenied,
  Full: RunReason.StoreFull,
  NotConfigured: RunReason.StoreNotConfigured,
  SnapshotNotFound: RunReason.SnapshotNotFound,
  SnapshotCorrupt: RunReason.SnapshotCorrupt,
  SnapshotInvalid: RunReason.SnapshotInvalid,
} as const;
export type StoreReason = (typeof StoreReason)[keyof typeof StoreReason];

interface RestLike { statusCode?: number; code?: string; name?: string; message?: string }

const FULL_CODES = /quota|capacity|full|limit|AccountIsDisabled|InsufficientAccount/i;
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "REQUEST_SEND_ERROR", "UND_ERR_CONNECT_TIMEOUT"]);

/** Which store failure this is, or undefined when it is not a store/network failure at all. */
export function storeReasonOf(err: unknown): StoreReason | undefined {
  const e = err as RestLike & { cause?: RestLike };
  const code = e?.code ?? e?.cause?.code;
  if (e?.name === "AbortError") return StoreReason.Unavailable;
  if (e?.statusCode === undefined) return code && NETWORK_CODES.has(code) ? StoreReason.Unavailable : undefined;
  if (e.statusCode === 401 || e.statusCode === 403) return code && FULL_CODES.test(code) ? StoreReason.Full : StoreReason.AccessDenied;
  if (e.statusCode === 413 || e.statusCode === 507 || (code && FULL_CODES.test(code))) return StoreReason.Full;
  if (e.statusCode >= 500 || e.statusCode === 408 || e.statusCode === 429) return StoreReason.Unavailable;
  return undefined;
}

/** A short cause without URLs: HTTP status and the service's error code, or the socket error. */
export function describeStoreError(err: unknown): string {
  const e = err as RestLike & { cause?: RestLike };
  if (e?.statusCode !== undefined) return `HTTP ${e.statusCode}${e.code ? ` ${e.code}` : ""}`;
  const code = e?.code ?? e?.cause?.code;
  return code ?? (e?.name === "AbortError" ? "timed out" : "request failed");
}

export class StoreError extends TransientError {
  constructor(message: string, readonly storeReason: StoreReason, retryAfterMs?: number) {
    super(message, retryAfterMs, { reason: storeReason });
  }
}

/**
 * Wraps a store failure: every store failure stays retryable (a fixed role assignment or freed
 * quota lets the run go on without being re-created), with a reason the run shows meanwhile.
 * Other errors pass through unchanged.
 */
export function toStoreError(err: unknown, what: string, where: string): unknown {
  if (err instanceof StoreError || err instanceof TerminalError) return err;
  const reason = storeReasonOf(err);
  if (!reason) return err;
  const hint = reason === StoreReason.AccessDenied
    ? " (check the store credential: the account key or SAS, or the identity's Storage Blob Data Contributor role)"
    : reason === StoreReason.Full ? " (the storage account refuses more data: quota or capacity)" : "";
  const retry = reason === StoreReason.Unavailable ? 5_000 : 60_000;
  // No `cause`: the SDK's error carries the request, whose URL may hold a SAS.
  return new StoreError(`${what} at ${where} failed: ${describeStoreError(err)}${hint}`, reason, retry);
}
