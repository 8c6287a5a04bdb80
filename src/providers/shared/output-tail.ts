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
