import { MAX_METRIC_NAME, MAX_STATUS_METRICS, type MetricSummary, type RunMetrics } from "../api/v1alpha1/metrics.js";
import type { MetricPoint } from "./lines.js";

/** Summaries (latest value, step, count, mean) of a stream of points, by name, in first-seen order. */
export function summarize(points: readonly MetricPoint[]): MetricSummary[] {
  const byName = new Map<string, { value: number; step: number; count: number; sum: number }>();
  for (const p of points) {
    const name = p.name.slice(0, MAX_METRIC_NAME);
    const prev = byName.get(name);
    const count = (prev?.count ?? 0) + 1;
    byName.set(name, { value: p.value, step: p.step ?? count - 1, count, sum: (prev?.sum ?? 0) + p.value });
  }
  return [...byName].map(([name, s]) => ({ name, value: s.value, step: s.step, count: s.count, mean: s.sum / s.count }));
}

/**
 * Merges newer observations into what status already holds, per name. A source that saw more
 * reports (a whole log, an MLflow history) or a later step wins: a short window of output must
 * not roll a metric back to an older value.
 */
export function mergeSummaries(existing: readonly MetricSummary[], incoming: readonly MetricSummary[]): MetricSummary[] {
  const merged = new Map(existing.map((m) => [m.name, m]));
  for (const m of incoming) {
    const old = merged.get(m.name);
    if (!old) {
      merged.set(m.name, m);
      continue;
    }
    const newer = m.step > old.step || (m.step === old.step && m.count >= old.count) || m.count > old.count;
    if (!newer) continue;
    merged.set(m.name, m.count >= old.count ? m : { ...m, count: old.count, mean: old.mean });
  }
  return [...merged.values()];
}

const formatValue = (v: number): string => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(5)).toString());

export interface StatusInput {
  summaries: readonly MetricSummary[];
  primaryMetric?: string;
  sources: readonly ("Stdout" | "MLflow")[];
  mlflow?: RunMetrics["mlflow"];
}

/** status.metrics: the primary metric first, then by name, bounded; undefined when nothing is known. */
export function metricsStatus(input: StatusInput): RunMetrics | undefined {
  const { summaries, primaryMetric, mlflow } = input;
  if (summaries.length === 0 && !mlflow) return undefined;
  const primaryName = primaryMetric?.slice(0, MAX_METRIC_NAME) ?? summaries[0]?.name;
  const primary = summaries.find((m) => m.name === primaryName);
  const rest = summaries.filter((m) => m !== primary).sort((a, b) => a.name.localeCompare(b.name));
  const ordered = primary ? [primary, ...rest] : rest;
  const latest = ordered.slice(0, MAX_STATUS_METRICS);
  const omitted = ordered.length - latest.length;
  const sources = [...new Set(input.sources)].sort();
  return {
    ...(primary ? { primary: `${primary.name}=${formatValue(primary.value)}` } : {}),
    latest,
    ...(omitted > 0 ? { omitted } : {}),
    ...(sources.length > 0 ? { sources } : {}),
    ...(mlflow ? { mlflow } : {}),
  };
}

/** The value of one metric in a run's status.metrics. */
export const metricOf = (metrics: RunMetrics | undefined, name: string): MetricSummary | undefined =>
  metrics?.latest.find((m) => m.name === name.slice(0, MAX_METRIC_NAME));
