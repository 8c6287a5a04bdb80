/**
 * TrainingRun.status.outputTail holds at most this many bytes (the CRD's maxLength is 8192): every
 * provider reads about this much of a run's output and trims it here.
 */
export const OUTPUT_TAIL_BYTES = 8 * 1024;

/**
 * The last `maxBytes` of a text, starting at a line start when anything was cut: when the text is
 * longer, or when `truncated` says it was already cut before it got here (e.g. `tail -c` on a VM).
 */
export function tailText(text: string, maxBytes = OUTPUT_TAIL_BYTES, truncated = false): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= maxBytes && !truncated) return text;
  const cut = buf.length > maxBytes ? buf.subarray(buf.length - maxBytes).toString("utf8") : text;
  const nl = cut.indexOf("\n");
  return nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut;
}

/** A running attempt's tail is refreshed into status at most this often: every refresh is a status write. */
export const TAIL_REFRESH_MS = 30_000;

/**
 * When each running attempt's tail was last read (in memory: after a restart every attempt is due
 * once). Executors ask before reading a tail while the attempt runs; the tail at its end is always read.
 */
export class TailSchedule {
  private readonly lastRead = new Map<string, number>();

  constructor(private readonly everyMs = TAIL_REFRESH_MS) {}

  /** True when `attempt`'s tail was never read or was read `everyMs` ago; counts it as read now. */
  due(attempt: string, nowMs: number): boolean {
    const last = this.lastRead.get(attempt);
    if (last !== undefined && nowMs - last < this.everyMs) return false;
    this.lastRead.set(attempt, nowMs);
    return true;
  }

  /** The attempt ended (or its run is gone): nothing more to schedule. */
  forget(attempt: string): void {
    this.lastRead.delete(attempt);
  }
}
