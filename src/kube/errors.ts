import { ConflictError, InvalidError, NotFoundError, parseRetryAfterMs, TerminalError, TransientError } from "../runtime/errors.js";

/** The parts of a metav1.Status body the classifier reads. */
export interface KubeStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { retryAfterSeconds?: number };
}

export type KubeError = NotFoundError | ConflictError | InvalidError | TerminalError | TransientError;

const DEFAULT_THROTTLE_MS = 1_000;


/**
 * Maps an API-server HTTP failure to the runtime's error classes. Pure.
 * 404 → NotFound; 409 → Conflict (AlreadyExists → alreadyExists=true); 400/422 → Invalid (a bug in
 * the object we sent: retrying unchanged cannot help); 401/403 → Terminal (RBAC or credentials need
 * a human); 429/5xx → Transient honouring Retry-After; anything else → Transient.
 */
export function classifyHttpStatus(
  httpStatus: number, status: KubeStatus | undefined, retryAfterHeader?: string,
): KubeError {
  const message = `${httpStatus} ${status?.reason ?? ""}: ${status?.message ?? "request failed"}`.replace(" :", ":");
  if (httpStatus === 404) return new NotFoundError(message);
  if (httpStatus === 409) return new ConflictError(message, status?.reason === "AlreadyExists");
  if (httpStatus === 400 || httpStatus === 422) return new InvalidError(message);
  if (httpStatus === 401 || httpStatus === 403) return new TerminalError(message, status?.reason ?? "Forbidden");
  const retryAfterMs = parseRetryAfterMs(retryAfterHeader)
    ?? (status?.details?.retryAfterSeconds !== undefined ? status.details.retryAfterSeconds * 1000 : undefined);
  // Kubernetes Status reasons are PascalCase (TooManyRequests, InternalError, ServiceUnavailable),
  // so they can go straight into a condition's reason.
  if (httpStatus === 429) {
    return new TransientError(message, retryAfterMs ?? DEFAULT_THROTTLE_MS, { reason: status?.reason || "TooManyRequests" });
  }
  return new TransientError(message, retryAfterMs, { reason: status?.reason || "APIServerError" });
}

/**
 * Maps anything a request can throw. Already-classified errors pass through; network failures
 * (fetch TypeError, ECONNREFUSED, timeouts) become TransientError; errors carrying an HTTP status
 * (client-node's ApiException uses `code`, Watch uses `statusCode`) go through classifyHttpStatus.
 */
export function classifyKubeError(err: unknown): KubeError {
  if (err instanceof NotFoundError || err instanceof ConflictError || err instanceof TerminalError
    || err instanceof TransientError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; headers?: Record<string, string> };
  const httpStatus = typeof e?.code === "number" ? e.code : typeof e?.statusCode === "number" ? e.statusCode : undefined;
  if (httpStatus !== undefined) {
    return classifyHttpStatus(httpStatus, parseStatus(e.body), e.headers?.["retry-after"]);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TransientError(`network error: ${message}`, undefined, { cause: err, reason: "APIServerUnreachable" });
}

/** Parses a Status body that may arrive as a string or as an object. */
export function parseStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === "object" && body !== null) return body as KubeStatus;
  if (typeof body !== "string" || body === "") return undefined;
  try {
    return JSON.parse(body) as KubeStatus;
  } catch {
    return { message: body.slice(0, 512) };
  }
}
