import { isReason, type Reason } from "../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";

/** Reasons this layer reports; they match TargetReason in src/api/v1alpha1/conditions.ts. */
export const SshReason = {
  SecretNotFound: "SecretNotFound",
  InvalidSpec: "InvalidSpec",
  AuthenticationFailed: "AuthenticationFailed",
  HostKeyMismatch: "HostKeyMismatch",
  Unreachable: "Unreachable",
} as const;

/** A network-level failure (refused, timed out, reset): retried with back-off, reason Unreachable. */
export class SshUnreachableError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, undefined, { ...options, reason: SshReason.Unreachable });
  }
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN",
]);

/**
 * Maps whatever ssh2 / the socket threw into the error taxonomy. Authentication and
 * host-key problems cannot heal by retrying: a human must change the Secret or the spec. The
 * ComputeTarget controller watches the Secrets a target names (metadata only, indexed by name) and
 * the target itself, so either change brings it back at once. Everything network-shaped is transient.
 */
export function classifySshError(err: unknown, where: string, hostKeyRejected: boolean): Error {
  if (err instanceof TerminalError || err instanceof TransientError) return err;
  const e = err as { code?: string; level?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (hostKeyRejected) {
    return new TerminalError(`${where}: the host key does not match the pinned key`, SshReason.HostKeyMismatch, { cause: err });
  }
  if (e?.level === "client-authentication" || /authentication methods failed/i.test(msg)) {
    return new TerminalError(`${where}: authentication failed (check the credentials Secret)`, SshReason.AuthenticationFailed, { cause: err });
  }
  if (/privateKey|passphrase|Unsupported key format|Cannot parse/i.test(msg)) {
    return new TerminalError(`${where}: cannot use the private key: ${msg}`, SshReason.AuthenticationFailed, { cause: err });
  }
  if ((e?.code && UNREACHABLE_CODES.has(e.code)) || e?.level === "client-timeout" || /timed out|not connected|No response/i.test(msg)) {
    return new SshUnreachableError(`${where}: unreachable: ${e?.code ?? msg}`, { cause: err });
  }
  return new SshUnreachableError(`${where}: ${msg}`, { cause: err });
}

export function reasonOf(err: unknown): Reason {
  if ((err instanceof TerminalError || err instanceof TransientError) && isReason(err.reason)) return err.reason;
  return SshReason.Unreachable;
}
