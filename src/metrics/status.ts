import type { TrainingRun } from "../api/v1alpha1/index.js";
import type { RunMetrics } from "../api/v1alpha1/metrics.js";
import type { Collected } from "./collector.js";
import { parseMetricLines } from "./lines.js";
import { mergeSummaries, metricsStatus, summarize } from "./summary.js";

/**
 * status.metrics after one observation (pure): what status held, merged with what the collector
 * read (a whole log, an MLflow run) and the metric lines in the output tail the executor returned
 * (every target has one; for targets without a collector it is the only source).
 */
export function nextRunMetrics(run: TrainingRun, collected: Collected | undefined, outputTail: string | undefined): RunMetrics | undefined {
  const existing = run.status?.metrics;
  const fromTail = outputTail ? summarize(parseMetricLines(outputTail)) : [];
  let summaries = mergeSummaries(existing?.latest ?? [], collected?.summaries ?? []);
  summaries = mergeSummaries(summaries, fromTail);
  const sources = [...(existing?.sources ?? []), ...(collected?.sources ?? []), ...(fromTail.length > 0 ? ["Stdout" as const] : [])];
  return metricsStatus({
    summaries, sources,
    ...(run.spec.primaryMetric ? { primaryMetric: run.spec.primaryMetric } : {}),
    ...(existing?.mlflow ? { mlflow: existing.mlflow } : {}),
  });
}
