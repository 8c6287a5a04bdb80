import { ConflictError, TerminalError, TransientError } from "../../runtime/errors.js";

export interface ErrorVerdict {
  reason: string;
  message: string;
  severity: "Error" | "Warning";
  /** Re-throw so the queue backs off (transient); terminal errors wait for a change instead. */
  retry: boolean;
}

/** Maps a provider error to the condition it shows and whether the queue should retry. */
export function classifyForCondition(err: unknown, fallbackReason: string): ErrorVerdict {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TerminalError) return { reason: err.reason === "Terminal" ? fallbackReason : err.reason, message, severity: "Error", retry: false };
  if (err instanceof ConflictError) return { reason: fallbackReason, message, severity: "Warning", retry: true };
  const reason = err instanceof TransientError && err.reason !== "Transient" ? err.reason : fallbackReason;
  return { reason, message, severity: "Warning", retry: true };
}
