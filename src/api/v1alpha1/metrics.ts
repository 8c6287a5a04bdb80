import { Type, type Static } from "@sinclair/typebox";
import { StringEnum } from "./common.js";

/** At most this many metrics are kept in status.metrics.latest; the rest are counted in `omitted`. */
export const MAX_STATUS_METRICS = 32;
/** Longer metric names are cut to this length in status (the full name stays in MLflow / the log). */
export const MAX_METRIC_NAME = 63;

export const MetricSummary = Type.Object({
  name: Type.String({ maxLength: MAX_METRIC_NAME, description: `Metric name (cut to ${MAX_METRIC_NAME} characters).` }),
  value: Type.Number({ description: "Latest value reported." }),
  step: Type.Integer({ minimum: 0, description: "Step of the latest value (the report's own step, else the count of reports)." }),
  count: Type.Integer({ minimum: 1, description: "Reports of this metric seen so far." }),
  mean: Type.Number({ description: "Mean of the reported values (running average)." }),
}, { description: "The latest value of one metric." });

export const RunMetrics = Type.Object({
  primary: Type.Optional(Type.String({ maxLength: 128, description: "The primary metric as name=value (spec.primaryMetric, else the first metric reported); shown as a printer column." })),
  latest: Type.Array(MetricSummary, { maxItems: MAX_STATUS_METRICS, description: `Latest value of each metric, the primary first (at most ${MAX_STATUS_METRICS}).` }),
  omitted: Type.Optional(Type.Integer({ minimum: 0, description: "Metrics reported beyond the status bound (their history is in MLflow or the output)." })),
  sources: Type.Optional(Type.Array(StringEnum(["Stdout", "MLflow"] as const), { maxItems: 2, description: "Where the values came from: the output's metric lines, an MLflow run." })),
  mlflow: Type.Optional(Type.Object({
    trackingUri: Type.String({ maxLength: 2048, description: "Tracking URI the run was given (MLFLOW_TRACKING_URI)." }),
    experimentId: Type.Optional(Type.String({ maxLength: 64, description: "MLflow experiment id." })),
    runId: Type.String({ maxLength: 128, description: "MLflow run id (MLFLOW_RUN_ID) that mlflow.log_metric writes to." }),
  }, { description: "The MLflow run that collects this run's metrics." })),
}, { description: "Metrics the script reported (MLflow or metric lines in its output), bounded." });

export type MetricSummary = Static<typeof MetricSummary>;
export type RunMetrics = Static<typeof RunMetrics>;
