/**
 * result.json, written last by the runner under the attempt's prefix, and what the operator shows
 * of it in status. Everything here is counts and blob paths inside the store: no URL, no SAS.
 */
import { attemptPrefix, LOG_BLOB, OUTPUTS_DIR, RESULT_BLOB, type RunIdentity } from "./layout.js";

export interface RunResult {
  readonly version: number;
  /** Completed | ScriptFailed | Canceled | SnapshotCorrupt | SnapshotInvalid | SnapshotUnavailable | RunnerFailed */
  readonly reason: string;
  readonly message?: string;
  /** false: the runner stopped before the command started (snapshot not verified, …). */
  readonly executed: boolean;
  readonly exitCode?: number;
  readonly signal?: string | null;
  readonly snapshot?: { digest?: string; verified?: boolean; files?: number; bytes?: number };
  readonly outputs?: { files?: number; bytes?: number; skipped?: string[]; error?: string };
  readonly log?: { blob?: string; bytes?: number };
  /** metrics.jsonl, when the command reported metrics. */
  readonly metrics?: { blob?: string; records?: number };
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Written by a periodic upload while the command ran: the runner was stopped before its final one. */
  readonly provisional?: boolean;
  readonly syncedAt?: string;
}

/** Reasons under which the runner refused to run anything. */
export const NOT_EXECUTED_REASONS = new Set(["SnapshotCorrupt", "SnapshotInvalid", "SnapshotUnavailable", "RunnerFailed"]);

export function parseRunResult(bytes: Buffer): RunResult | undefined {
  try {
    const r = JSON.parse(bytes.toString("utf8")) as RunResult;
    return r && typeof r === "object" && typeof r.reason === "string" ? r : undefined;
  } catch {
    return undefined;
  }
}

/** status.outputs: where an attempt's outputs and log are, and how much. */
export interface OutputsStatus {
  attempt: number;
  /** `<runs container>/<prefix>outputs/`: download with `kubectl aml download`. */
  location: string;
  files: number;
  bytes: number;
  log?: string;
  logBytes?: number;
  /** Set when the upload failed or files were left out (symlinks); never holds a URL. */
  message?: string;
}

export const resultBlobOf = (run: RunIdentity, attempt: number): string => `${attemptPrefix(run, attempt)}${RESULT_BLOB}`;

export function outputsStatusOf(runsContainer: string, run: RunIdentity, attempt: number, r: RunResult): OutputsStatus {
  const prefix = `${runsContainer}/${attemptPrefix(run, attempt)}`;
  const skipped = r.outputs?.skipped ?? [];
  const message = r.outputs?.error
    ? `outputs were not uploaded: ${r.outputs.error}`
    : r.provisional ? `outputs as of the last periodic upload (${r.syncedAt ?? "?"}): the task was stopped before the runner's final upload`
    : skipped.length ? `left out (not regular files): ${skipped.slice(0, 5).join(", ")}${skipped.length > 5 ? ", …" : ""}` : undefined;
  return {
    attempt,
    location: `${prefix}${OUTPUTS_DIR}/`,
    files: r.outputs?.files ?? 0,
    bytes: r.outputs?.bytes ?? 0,
    ...(r.log?.blob ? { log: `${prefix}${LOG_BLOB}`, logBytes: r.log.bytes ?? 0 } : {}),
    ...(message ? { message } : {}),
  };
}
