import { isRestError } from "@azure/core-rest-pipeline";
import { TargetReason } from "../../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../../runtime/errors.js";
import { parseRetryAfterMs } from "../../../runtime/errors.js";
import { RequestBudgetExhausted } from "./budget.js";

/** A TransientError that names the Ready reason (Throttled, AzureError...). */
function transient(message: string, reason: string, retryAfterMs: number | undefined, cause: unknown): TransientError {
  return new TransientError(message, retryAfterMs, { cause, reason });
}

const QUOTA_CODES = new Set(["quotaexceeded", "resourcequotaexceeded", "operationnotallowed"]);
const VM_SIZE_CODES = new Set(["invalidvmsize", "skunotavailable", "vmsizenotsupported"]);
const TRANSIENT_CODES = new Set([
  "anotheroperationinprogress", "conflict", "allocationfailed", "missingsubscriptionregistration", "scopelocked",
  "resourcegroupbeingdeleted", "retryableerror",
]);

/** ARM error code and message of a RestError (core-client copies `error.code` into `code`). */
function armDetail(e: { code?: string; message: string; details?: unknown }): { code: string; message: string } {
  const body = e.details as { error?: { code?: string; message?: string } } | undefined;
  return { code: body?.error?.code ?? e.code ?? "Unknown", message: body?.error?.message ?? e.message };
}

/**
 * Maps anything an ARM or Entra call throws into the runtime's error classes.
 * One retry layer: the SDK does not retry, the work queue does, honouring Retry-After.
 */
export function classifyArmError(e: unknown, what: string): Error {
  if (e instanceof TransientError || e instanceof TerminalError) return e;
  if (e instanceof RequestBudgetExhausted) {
    return transient(`${what}: ${e.message}`, TargetReason.Throttled, e.retryAfterMs, e);
  }
  const name = (e as { name?: string } | undefined)?.name;
  if (name === "CredentialUnavailableError") {
    // Entra's endpoints could not be resolved or reached (MSAL network_error), or no credential
    // source answered yet: nothing says the credential is wrong, so it is retried, not a failure.
    return transient(`${what}: no Azure token yet: ${firstLine((e as Error).message)}`, TargetReason.AuthenticationFailed, 30_000, e);
  }
  if (name === "AuthenticationRequiredError") {
    return new TerminalError(`${what}: no usable Azure credential: ${(e as Error).message}`, TargetReason.AuthenticationFailed, { cause: e });
  }
  if (name === "AuthenticationError") {
    const status = (e as { statusCode?: number }).statusCode ?? 0;
    if (status === 429 || status >= 500 || status === 0) {
      return transient(`${what}: token request failed (${status}): ${(e as Error).message}`, TargetReason.AuthenticationFailed, undefined, e);
    }
    return new TerminalError(`${what}: Entra ID rejected the credentials: ${firstLine((e as Error).message)}`, TargetReason.AuthenticationFailed, { cause: e });
  }
  if (isRestError(e)) {
    const status = e.statusCode ?? 0;
    const { code, message } = armDetail(e);
    const retryAfterMs = parseRetryAfterMs(e.response?.headers.get("retry-after"));
    const text = `${what}: ${code}: ${message}`;
    const lcode = code.toLowerCase();
    if (status === 0) return transient(`${what}: ${e.message}`, TargetReason.AzureError, undefined, e);
    if (status === 429) return transient(`${what}: throttled by ARM (${code})`, TargetReason.Throttled, retryAfterMs ?? 10_000, e);
    if (status >= 500) return transient(text, TargetReason.AzureError, retryAfterMs, e);
    if (status === 401) return new TerminalError(text, TargetReason.AuthenticationFailed, { cause: e });
    if (status === 403) return new TerminalError(`${text} (grant the operator's identity a role on the workspace, e.g. AzureML Compute Operator)`, TargetReason.AuthorizationFailed, { cause: e });
    if (QUOTA_CODES.has(lcode) || /quota/i.test(message)) return new TerminalError(text, TargetReason.QuotaExceeded, { cause: e });
    if (VM_SIZE_CODES.has(lcode) || (status === 400 && /vm ?size|\bsku\b/i.test(message))) return new TerminalError(text, TargetReason.InvalidVmSize, { cause: e });
    if (status === 409 || TRANSIENT_CODES.has(lcode)) {
      return transient(text, TargetReason.AzureError, retryAfterMs ?? (lcode === "scopelocked" ? 300_000 : undefined), e);
    }
    if (status === 404) return transient(text, TargetReason.AzureError, 60_000, e);
    if (status >= 400 && status < 500) return new TerminalError(text, TargetReason.AzureError, { cause: e });
  }
  const err = e as { code?: string; message?: string } | undefined;
  return transient(`${what}: ${err?.message ?? String(e)}`, TargetReason.AzureError, undefined, e);
}

export function isNotFound(e: unknown): boolean {
  return isRestError(e) && e.statusCode === 404;
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}
