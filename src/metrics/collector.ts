/**
 * Reads run metrics off the reconcile hot path. While a run is active the TrainingRun controller
 * only peeks at the last collected values; a refresh runs in the background at most once per
 * interval per run, with a global cap on requests in flight. When an attempt ends the controller
 * asks once, synchronously, for the final values. Nothing here writes to the API server: the
 * values ride along with the status write the reconcile makes anyway (and only when they changed).
 */
import type { ComputeTarget, TrainingRun } from "../api/v1alpha1/index.js";
import type { MetricSummary } from "../api/v1alpha1/metrics.js";
import type { ProviderContext } from "../providers/types.js";
import { parseMetricLines } from "./lines.js";
import { mlflowSummaries, type MlflowEndpoint } from "./mlflow-client.js";
import { summarize } from "./summary.js";
import { trackingFor, type TrackingConfig } from "./tracking.js";

export type MetricSource = "Stdout" | "MLflow";

export interface Collected {
  readonly summaries: readonly MetricSummary[];
  readonly sources: readonly MetricSource[];
  /** Why a source could not be read (logged; the run goes on). */
  readonly error?: string;
}

/** Resolves the Authorization header for a remote tracking service (Databricks token, Azure token). */
export type TrackingAuth = (target: ComputeTarget, kind: "databricks-token" | "azure", ctx: ProviderContext) => Promise<string | undefined>;

export interface CollectorOptions {
  tracking: TrackingConfig;
  now: () => number;
  /** Minimum time between two background reads of one run. */
  intervalMs?: number;
  /** Background reads in flight at once, across all runs. */
  maxInFlight?: number;
  /** Largest pod log read for metric lines (Local). */
  maxLogBytes?: number;
  auth?: TrackingAuth;
}

interface Entry { at: number; value?: Collected; inFlight: boolean }

const LOCAL_CONTAINER = "train";

export class MetricsCollector {
  private readonly entries = new Map<string, Entry>();
  private inFlight = 0;
  private readonly intervalMs: number;
  private readonly maxInFlight: number;
  private readonly maxLogBytes: number;

  constructor(private readonly opts: CollectorOptions) {
    this.intervalMs = opts.intervalMs ?? 15_000;
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.maxLogBytes = opts.maxLogBytes ?? 4 * 1024 * 1024;
  }

  /** The last values collected for the run; starts a background refresh when they are stale. */
  peek(run: TrainingRun, target: ComputeTarget, ctx: ProviderContext): Collected | undefined {
    const key = keyOf(run);
    const entry = this.entries.get(key) ?? { at: 0, inFlight: false };
    this.entries.set(key, entry);
    const stale = this.opts.now() - entry.at >= this.intervalMs;
    if (stale && !entry.inFlight && this.inFlight < this.maxInFlight && this.hasSource(run, target)) {
      entry.inFlight = true;
      this.inFlight++;
      void this.read(run, target, ctx)
        .then((value) => { entry.value = value; })
        .finally(() => {
          entry.at = this.opts.now();
          entry.inFlight = false;
          this.inFlight--;
        });
    }
    return entry.value;
  }

  /** Reads now (the attempt has ended): the values the run's final status keeps. */
  async collect(run: TrainingRun, target: ComputeTarget, ctx: ProviderContext): Promise<Collected | undefined> {
    if (!this.hasSource(run, target)) return undefined;
    const value = await this.read(run, target, ctx);
    this.entries.set(keyOf(run), { at: this.opts.now(), value, inFlight: false });
    return value;
  }

  forget(run: TrainingRun): void {
    this.entries.delete(keyOf(run));
  }

  private mlflowRunId(run: TrainingRun, target: ComputeTarget): string | undefined {
    const tracking = trackingFor(target, this.opts.tracking);
    if (!tracking) return undefined;
    return tracking.createsRun ? run.status?.metrics?.mlflow?.runId : run.status?.links?.azureJobName;
  }

  private hasSource(run: TrainingRun, target: ComputeTarget): boolean {
    return target.spec.type === "Local" || this.mlflowRunId(run, target) !== undefined;
  }

  private async read(run: TrainingRun, target: ComputeTarget, ctx: ProviderContext): Promise<Collected> {
    const summaries: MetricSummary[] = [];
    const sources: MetricSource[] = [];
    const errors: string[] = [];
    const pod = run.status?.links?.podName;
    if (target.spec.type === "Local" && pod) {
      try {
        const log = await ctx.kube.podLogs({ namespace: run.metadata.namespace ?? "", name: pod }, { container: LOCAL_CONTAINER, limitBytes: this.maxLogBytes });
        const fromLog = summarize(parseMetricLines(log));
        if (fromLog.length > 0) {
          summaries.push(...fromLog);
          sources.push("Stdout");
        }
      } catch (err) {
        errors.push(`pod log: ${String(err)}`);
      }
    }
    const runId = this.mlflowRunId(run, target);
    const tracking = trackingFor(target, this.opts.tracking);
    if (runId && tracking) {
      try {
        const auth = tracking.auth && this.opts.auth ? await this.opts.auth(target, tracking.auth, ctx) : undefined;
        const ep: MlflowEndpoint = { apiBase: tracking.apiBase, ...(auth ? { authorization: async () => auth } : {}) };
        const fromMlflow = await mlflowSummaries(ep, runId, run.spec.primaryMetric);
        if (fromMlflow.length > 0) sources.push("MLflow");
        mergeBySource(summaries, fromMlflow);
      } catch (err) {
        errors.push(String(err instanceof Error ? err.message : err));
      }
    }
    if (errors.length > 0) ctx.log.debug({ errors }, "Metrics source not readable");
    return { summaries, sources, ...(errors.length > 0 ? { error: errors.join("; ") } : {}) };
  }
}

/** A metric both printed and logged to MLflow: keep the source that saw more reports. */
function mergeBySource(into: MetricSummary[], more: readonly MetricSummary[]): void {
  for (const m of more) {
    const i = into.findIndex((s) => s.name === m.name);
    if (i < 0) into.push(m);
    else if (m.count >= (into[i]?.count ?? 0)) into[i] = m;
  }
}

const keyOf = (run: TrainingRun): string => run.metadata.uid ?? `${run.metadata.namespace}/${run.metadata.name}`;
