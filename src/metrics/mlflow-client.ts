/**
 * The few MLflow tracking REST calls the operator makes (MLflow REST API 2.0): find or create the
 * experiment and the run a TrainingRun reports to, and read that run's metrics back. Works against
 * any MLflow tracking server: the embedded one, Azure ML's workspace tracking, Databricks'.
 */
import { TransientError } from "../runtime/errors.js";
import type { MetricSummary } from "../api/v1alpha1/metrics.js";
import { summarize } from "./summary.js";

export interface MlflowEndpoint {
  /** Base URL that `/api/2.0/mlflow/...` is appended to. */
  readonly apiBase: string;
  /** Authorization header value (Databricks / Azure ML), when the server needs one. */
  readonly authorization?: () => Promise<string | undefined>;
}

export interface MlflowMetric { key: string; value: number; timestamp?: number; step?: number }

/** Tag that ties an MLflow run to the TrainingRun (UID) that asked for it: find-before-create. */
export const RUN_UID_TAG = "amlcompute.run_uid";

const REQUEST_TIMEOUT_MS = 5_000;

export class MlflowError extends TransientError {
  constructor(message: string, readonly status: number, readonly code?: string) {
    super(message, undefined, { reason: "MetricsTrackingUnavailable" });
  }
}

async function call<T>(ep: MlflowEndpoint, method: "GET" | "POST", path: string, body?: Record<string, unknown>): Promise<T> {
  const url = new URL(`${ep.apiBase.replace(/\/+$/, "")}/api/2.0/mlflow/${path}`);
  if (method === "GET" && body) for (const [k, v] of Object.entries(body)) url.searchParams.set(k, String(v));
  const auth = await ep.authorization?.();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      ...(method === "POST" ? { body: JSON.stringify(body ?? {}) } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    throw new MlflowError(`MLflow at ${url.origin} unreachable: ${err instanceof Error ? err.message : String(err)}`, 0);
  }
  const text = await res.text();
  if (!res.ok) {
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { error_code?: string }).error_code;
    } catch { /* not JSON */ }
    throw new MlflowError(`MLflow ${path} answered ${res.status}${code ? ` ${code}` : ""}`, res.status, code);
  }
  return JSON.parse(text) as T;
}

/** Experiment id by name, creating the experiment when it does not exist (a concurrent create is fine). */
export async function ensureExperiment(ep: MlflowEndpoint, name: string): Promise<string> {
  const byName = async (): Promise<string | undefined> => {
    try {
      const r = await call<{ experiment: { experiment_id: string } }>(ep, "GET", "experiments/get-by-name", { experiment_name: name });
      return r.experiment.experiment_id;
    } catch (err) {
      if (err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw err;
    }
  };
  const found = await byName();
  if (found) return found;
  try {
    return (await call<{ experiment_id: string }>(ep, "POST", "experiments/create", { name })).experiment_id;
  } catch (err) {
    const again = err instanceof MlflowError && err.code === "RESOURCE_ALREADY_EXISTS" ? await byName() : undefined;
    if (again) return again;
    throw err;
  }
}

/**
 * The MLflow run of a TrainingRun: found by its UID tag, else created. Safe to repeat after a
 * crash between create and the status write (the search finds the first one).
 */
export async function ensureRun(
  ep: MlflowEndpoint, input: { experimentId: string; runUid: string; runName: string; startTimeMs: number; searchFirst?: boolean },
): Promise<string> {
  if (input.searchFirst === false) return createRun(ep, input);
  const search = await call<{ runs?: { info: { run_id: string } }[] }>(ep, "POST", "runs/search", {
    experiment_ids: [input.experimentId], filter: `tags.${RUN_UID_TAG} = '${input.runUid.replace(/[^0-9a-f-]/gi, "")}'`, max_results: 1,
  });
  const existing = search.runs?.[0]?.info.run_id;
  if (existing) return existing;
  return createRun(ep, input);
}

async function createRun(ep: MlflowEndpoint, input: { experimentId: string; runUid: string; runName: string; startTimeMs: number }): Promise<string> {
  const created = await call<{ run: { info: { run_id: string } } }>(ep, "POST", "runs/create", {
    experiment_id: input.experimentId, run_name: input.runName, start_time: input.startTimeMs,
    tags: [{ key: RUN_UID_TAG, value: input.runUid }, { key: "mlflow.runName", value: input.runName }],
  });
  return created.run.info.run_id;
}

/** Latest value of every metric of the run (runs/get). */
export async function latestMetrics(ep: MlflowEndpoint, runId: string): Promise<MlflowMetric[]> {
  const r = await call<{ run: { data?: { metrics?: MlflowMetric[] } } }>(ep, "GET", "runs/get", { run_id: runId });
  return r.run.data?.metrics ?? [];
}

/** Every reported value of one metric (metrics/get-history), oldest first, following pages. */
export async function metricHistory(ep: MlflowEndpoint, runId: string, key: string, maxPoints = 10_000): Promise<MlflowMetric[]> {
  const points: MlflowMetric[] = [];
  let token: string | undefined;
  do {
    const page = await call<{ metrics?: MlflowMetric[]; next_page_token?: string }>(ep, "GET", "metrics/get-history", {
      run_id: runId, metric_key: key, max_results: 1000, ...(token ? { page_token: token } : {}),
    });
    points.push(...(page.metrics ?? []));
    token = page.next_page_token || undefined;
  } while (token && points.length < maxPoints);
  return points.sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || (a.timestamp ?? 0) - (b.timestamp ?? 0));
}

/**
 * Summaries of an MLflow run's metrics: one runs/get for the latest values, plus the history of
 * the primary metric (its count and running mean drive early termination).
 */
export async function mlflowSummaries(ep: MlflowEndpoint, runId: string, primaryMetric?: string): Promise<MetricSummary[]> {
  const latest = await latestMetrics(ep, runId);
  const summaries: MetricSummary[] = latest.map((m) => ({ name: m.key, value: m.value, step: m.step ?? 0, count: 1, mean: m.value }));
  if (!primaryMetric || !latest.some((m) => m.key === primaryMetric)) return summaries;
  const history = await metricHistory(ep, runId, primaryMetric);
  const [full] = summarize(history.map((h) => ({ name: h.key, value: h.value, ...(h.step !== undefined ? { step: h.step } : {}) })));
  return full ? summaries.map((s) => (s.name === full.name ? full : s)) : summaries;
}
