/**
 * What the TrainingRun controller asks of metrics: point a new run at its MLflow run (prepare),
 * and the values reported so far (peek while active, collect once at the end).
 */
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../api/v1alpha1/index.js";
import type { RunMetrics } from "../api/v1alpha1/metrics.js";
import type { ProviderContext } from "../providers/types.js";
import { MetricsCollector, type Collected, type CollectorOptions } from "./collector.js";
import { ensureExperiment, ensureRun, type MlflowEndpoint } from "./mlflow-client.js";
import { trackingEnvironment, trackingFor } from "./tracking.js";

export interface Prepared {
  /** Environment variables for the script (none when MLflow is off or the user set their own). */
  readonly env: Record<string, string>;
  /** status.metrics.mlflow to persist. */
  readonly mlflow?: RunMetrics["mlflow"];
  /** Why MLflow could not be prepared; the run is submitted without it. */
  readonly warning?: string;
}

export interface MetricsServiceOptions extends CollectorOptions {
  /** When this process started reconciling (Manager.reconcilingSince): runs created later need no search. */
  reconcilingSince?: () => number | undefined;
}

/**
 * Clock skew between the API server (creationTimestamp, whole seconds, never later than the truth)
 * and this process, allowed for. A run an earlier operator process reconciled was created before
 * that process stopped, and this one starts reconciling seconds after (a restart, or a Lease that
 * had to expire), so a few seconds keep such runs on the searched side.
 */
const FRESH_MARGIN_MS = 5_000;
/** MLflow runs this process created, kept until their id is in the run's status; bounded. */
const CREATED_LIMIT = 5_000;

export class RunMetricsService {
  readonly collector: MetricsCollector;
  /**
   * Experiment ids by tracking server and name, looked up once: an experiment outlives its runs,
   * and every run of one otherwise cost a lookup more on its first reconcile.
   */
  private readonly experiments = new Map<string, Promise<string>>();

  /** MLflow run ids this process created, by run UID: a submit retried after a failed status write reuses them. */
  private readonly created = new Map<string, { experimentId: string; runId: string }>();

  constructor(private readonly opts: MetricsServiceOptions) {
    this.collector = new MetricsCollector(opts);
  }

  /** Finds or creates the run's MLflow run (idempotent, keyed by the run's UID). Never throws. */
  async prepare(run: TrainingRun, target: ComputeTarget, config: RunConfigurationSpec, ctx: ProviderContext): Promise<Prepared> {
    if (config.environmentVariables?.MLFLOW_TRACKING_URI) return { env: {} };
    const tracking = trackingFor(target, this.opts.tracking);
    if (!tracking?.createsRun) return { env: {} };
    const uid = run.metadata.uid ?? "";
    const known = run.status?.metrics?.mlflow ?? this.knownCreated(uid, tracking.scriptUri);
    if (known) return { env: trackingEnvironment(tracking, known), mlflow: known };
    try {
      const auth = tracking.auth && this.opts.auth ? await this.opts.auth(target, tracking.auth, ctx) : undefined;
      const ep: MlflowEndpoint = { apiBase: tracking.apiBase, ...(auth ? { authorization: async () => auth } : {}) };
      const name = run.spec.experimentName;
      const runIn = async (experimentId: string) => ({
        experimentId,
        runId: await ensureRun(ep, {
          experimentId, runUid: uid, runName: run.metadata.name ?? "", startTimeMs: ctx.now.getTime(), searchFirst: !this.createdSinceStart(run),
        }),
      });
      // An id remembered from an earlier run may be gone (experiment deleted): looked up again, once.
      const { experimentId, runId } = await runIn(await this.experimentId(ep, name)).catch(async () => {
        this.experiments.delete(experimentKey(ep, name));
        return runIn(await this.experimentId(ep, name));
      });
      const mlflow = { trackingUri: tracking.scriptUri, experimentId, runId };
      this.remember(uid, { experimentId, runId });
      return { env: trackingEnvironment(tracking, mlflow), mlflow };
    } catch (err) {
      return { env: {}, warning: `MLflow tracking unavailable, the run reports metrics through its output only: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /**
   * A run created after this process started reconciling (clock skew allowed for) can only have an
   * MLflow run this process made: the search by its UID tag (one request more, and a scan of the
   * experiment's runs on MLflow's side) is skipped. Older runs may have one from an operator that
   * stopped before writing its id to status: they are searched first.
   */
  private createdSinceStart(run: TrainingRun): boolean {
    const since = this.opts.reconcilingSince?.();
    const created = Date.parse(run.metadata.creationTimestamp ?? "");
    return since !== undefined && Number.isFinite(created) && created >= since + FRESH_MARGIN_MS;
  }

  private knownCreated(uid: string, trackingUri: string): RunMetrics["mlflow"] | undefined {
    const c = this.created.get(uid);
    return c ? { trackingUri, ...c } : undefined;
  }

  private remember(uid: string, ids: { experimentId: string; runId: string }): void {
    this.created.set(uid, ids);
    while (this.created.size > CREATED_LIMIT) this.created.delete(this.created.keys().next().value as string);
  }

  private experimentId(ep: MlflowEndpoint, name: string): Promise<string> {
    const key = experimentKey(ep, name);
    let id = this.experiments.get(key);
    if (!id) {
      id = ensureExperiment(ep, name);
      // A failed lookup is not remembered.
      id.catch(() => this.experiments.delete(key));
      this.experiments.set(key, id);
    }
    return id;
  }

  peek(run: TrainingRun, target: ComputeTarget, ctx: ProviderContext): Collected | undefined {
    return this.collector.peek(run, target, ctx);
  }

  collect(run: TrainingRun, target: ComputeTarget, ctx: ProviderContext): Promise<Collected | undefined> {
    return this.collector.collect(run, target, ctx);
  }
}

const experimentKey = (ep: MlflowEndpoint, name: string): string => `${ep.apiBase}\n${name}`;

/** The configuration with the tracking variables added under the user's own (the user's win). */
export function withTrackingEnvironment(config: RunConfigurationSpec, env: Record<string, string>): RunConfigurationSpec {
  if (Object.keys(env).length === 0) return config;
  return { ...config, environmentVariables: { ...env, ...(config.environmentVariables ?? {}) } };
}
