/**
 * The metric line format: a script with no reachable tracking server reports a metric by printing
 * one line to stdout (or stderr)
 *
 *     AML_METRIC {"name": "mse", "value": 0.0028, "step": 200}
 *
 * i.e. the prefix `AML_METRIC`, a space, and a JSON object with `name` (string), `value` (finite
 * number) and optionally `step` (non-negative integer). Anything else on such a line makes it an
 * ordinary output line. Python: `print("AML_METRIC", json.dumps({"name": "mse", "value": m, "step": i}), flush=True)`.
 */
export const METRIC_LINE_PREFIX = "AML_METRIC ";

export interface MetricPoint {
  readonly name: string;
  readonly value: number;
  /** The report's own step; absent means "the next one". */
  readonly step?: number;
}

/** One metric line → a point, or undefined when the line is not a (well-formed) metric line. */
export function parseMetricLine(line: string): MetricPoint | undefined {
  const at = line.indexOf(METRIC_LINE_PREFIX);
  // Tolerate a log prefix (timestamps, "[rank0]:") before the marker, never text after the JSON.
  if (at < 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(line.slice(at + METRIC_LINE_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const { name, value, step } = body as Record<string, unknown>;
  if (typeof name !== "string" || name.trim() === "" || typeof value !== "number" || !Number.isFinite(value)) return undefined;
  if (step !== undefined && !(typeof step === "number" && Number.isInteger(step) && step >= 0)) return undefined;
  return { name: name.trim(), value, ...(step !== undefined ? { step } : {}) };
}

/** Every metric point in a block of output, in order. */
export function parseMetricLines(text: string): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes(METRIC_LINE_PREFIX)) continue;
    const p = parseMetricLine(line.replace(/\r$/, ""));
    if (p) points.push(p);
  }
  return points;
}
