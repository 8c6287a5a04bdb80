import type { ComputeTarget, Reason, RunConfigurationSpec, TrainingRun } from "../../api/v1alpha1/index.js";
import { RunReason } from "../../api/v1alpha1/index.js";
import { RunnerEnv } from "../../data-plane/runner/index.js";
import { TerminalError } from "../../runtime/errors.js";
import { decodeShape } from "../shared/handle.js";
import { sanitizeName } from "../shared/names.js";
import type { Attempt, AttemptState, ProviderContext, RunExecutor, RunObservation } from "../types.js";
import { classifyDatabricksError, isDatabricksNotFound, type DatabricksApi, type DatabricksRun } from "./api.js";
import type { ResolvedDatabricksConfig } from "./config.js";
import { exitCodeFromLogs, renderEntryScript, withoutMarker, type SecretRef } from "./entry-script.js";
import { tailText } from "../shared/output-tail.js";
import { databricksSpecOf, workspaceApi, type WorkspaceAccess } from "./workspace.js";

/** Persisted in TrainingRun.status.execution. Identifiers only; never the token. */
export interface DatabricksHandle {
  readonly runId: number;
  readonly entryPath: string;
}


/** runs/submit idempotency token (≤ 64 chars): the same attempt always maps to the same run. */
export function databricksIdempotencyToken(run: TrainingRun, attempt: number): string {
  return `${run.metadata.uid ?? `${run.metadata.namespace}/${run.metadata.name}`}-a${attempt}`.slice(0, 64);
}

/** Databricks run state → attempt state; `reason` keeps the display phase's word. */
export function mapRunState(s: DatabricksRun["state"]): { state: AttemptState; reason: Reason } {
  switch (s?.life_cycle_state) {
    case "QUEUED":
    case "BLOCKED":
      return { state: "Queued", reason: RunReason.Queued };
    case "PENDING":
      return { state: "Starting", reason: RunReason.Starting };
    case "RUNNING":
    case "WAITING_FOR_RETRY":
      return { state: "Running", reason: RunReason.Running };
    case "TERMINATING":
      return { state: "Running", reason: RunReason.Finalizing };
    case "TERMINATED":
      switch (s.result_state) {
        case "SUCCESS":
        case "SUCCESS_WITH_FAILURES":
          return { state: "Succeeded", reason: RunReason.Completed };
        case "CANCELED":
          return { state: "Failed", reason: RunReason.Canceled };
        case "TIMEDOUT":
          return { state: "Failed", reason: RunReason.DeadlineExceeded };
        case undefined:
        default:
          return { state: "Failed", reason: RunReason.ScriptFailed };
      }
    case "SKIPPED":
    case "INTERNAL_ERROR":
      return { state: "Failed", reason: RunReason.SubmissionFailed };
    case undefined:
    default:
      return { state: "Running", reason: RunReason.Running };
  }
}

/** The runner's SAS URLs as Databricks secrets of one attempt: env name → [scope, key]. */
function attemptSecrets(scope: string, run: TrainingRun, attempt: number): Record<string, SecretRef> {
  const base = databricksIdempotencyToken(run, attempt);
  return { [RunnerEnv.snapshotUrl]: [scope, `${base}.snapshot-url`], [RunnerEnv.outputUrl]: [scope, `${base}.output-url`] };
}

function libraries(config: RunConfigurationSpec): { pypi: { package: string } }[] {
  return (config.environment?.systemManaged?.pipPackages ?? []).map((p) => ({ pypi: { package: p } }));
}

/**
 * TrainingRuns on Databricks through the Jobs API. submit: the attempt's store SAS URLs become
 * secrets of the operator's secret scope, the entry file (the data-plane runner plus the command,
 * entry-script.ts; no secret in it) goes into the workspace (Workspace files), then one
 * runs/submit with a spark_python_task and an idempotency_token of run UID + attempt (a repeated
 * submit after a crash gets the same run_id back). observe: runs/get, plus runs/get-output of the
 * task for the output tail. cancel: runs/cancel. release: the attempt's secrets go.
 */
export class DatabricksRunExecutor implements RunExecutor<DatabricksHandle> {

  constructor(private readonly access: WorkspaceAccess, private readonly config: ResolvedDatabricksConfig) {}

  private api(target: ComputeTarget, ctx: ProviderContext): Promise<DatabricksApi> {
    return workspaceApi(target, this.access, ctx);
  }

  entryPath(run: TrainingRun, attempt: number): string {
    const ns = sanitizeName(run.metadata.namespace ?? "default");
    const uid = (run.metadata.uid ?? "").replace(/-/g, "").slice(0, 12);
    return `${this.config.filesRoot}/runs/${ns}/${sanitizeName(run.metadata.name ?? "run").slice(0, 60)}-${uid}-a${attempt}/entry.py`;
  }

  /** A job cluster resolves the secrets into its environment; on an existing cluster the entry script reads them. */
  private cluster(target: ComputeTarget, config: RunConfigurationSpec, secrets: Record<string, SecretRef>): Record<string, unknown> {
    const spec = databricksSpecOf(target);
    if (spec.existingClusterId) return { existing_cluster_id: spec.existingClusterId };
    const envVars = Object.fromEntries(Object.entries(secrets).map(([name, [scope, key]]) => [name, `{{secrets/${scope}/${key}}}`]));
    const workers = Math.max(0, config.nodeCount - 1);
    return {
      new_cluster: {
        spark_version: this.config.sparkVersion,
        node_type_id: this.config.nodeTypeId,
        num_workers: workers,
        spark_env_vars: envVars,
        // One node runs the driver only: Databricks' single-node profile.
        ...(workers === 0 ? {
          spark_conf: { "spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]" },
          custom_tags: { ResourceClass: "SingleNode" },
        } : {}),
      },
    };
  }

  decodeHandle(raw: unknown): DatabricksHandle | undefined {
    return decodeShape<DatabricksHandle>(raw, { runId: "number", entryPath: "string" });
  }

  async submit(sub: Attempt<DatabricksHandle>, ctx: ProviderContext): Promise<DatabricksHandle> {
    const api = await this.api(sub.target, ctx);
    const entryPath = this.entryPath(sub.run, sub.number);
    const what = `Databricks run of ${sub.run.metadata.name} attempt ${sub.number}`;
    if (!sub.storage) throw new TerminalError("no run data plane for this attempt (the operator has no snapshot store)", RunReason.StoreNotConfigured);
    try {
      const runnerEnv = await sub.storage.runnerEnv();
      const secrets = attemptSecrets(this.config.secretScope, sub.run, sub.number);
      await api.ensureSecretScope(this.config.secretScope);
      for (const [name, [scope, key]] of Object.entries(secrets)) await api.putSecret(scope, key, runnerEnv[name] ?? "");
      const script = renderEntryScript({
        argv: sub.argv, interpreterNeeded: sub.interpreterNeeded, secrets,
        env: {
          ...(sub.config.environmentVariables ?? {}), AMLCOMPUTE_RUN_ID: sub.runId, AMLCOMPUTE_ATTEMPT: String(sub.number),
          [RunnerEnv.snapshotDigest]: runnerEnv[RunnerEnv.snapshotDigest] ?? sub.snapshot.digest,
        },
      });
      await api.writeWorkspaceFile(entryPath, Buffer.from(script, "utf8"));
      const lib = libraries(sub.config);
      const runId = await api.submitRun({
        run_name: `${sub.run.metadata.namespace ?? "default"}/${sub.run.metadata.name} attempt ${sub.number}`,
        idempotency_token: databricksIdempotencyToken(sub.run, sub.number),
        ...(sub.config.maxRunDurationSeconds ? { timeout_seconds: sub.config.maxRunDurationSeconds } : {}),
        tasks: [{
          task_key: "main",
          // A workspace file (new workspaces have no DBFS root to put it on).
          spark_python_task: { python_file: entryPath, parameters: [], source: "WORKSPACE" },
          ...this.cluster(sub.target, sub.config, secrets),
          ...(lib.length ? { libraries: lib } : {}),
        }],
      });
      ctx.log.info({ databricksRunId: runId, entryPath }, "Submitted Databricks run");
      const handle: DatabricksHandle = { runId, entryPath };
      return handle;
    } catch (e) {
      throw classifyDatabricksError(e, what);
    }
  }

  async observe(sub: Attempt<DatabricksHandle>, ctx: ProviderContext): Promise<RunObservation<DatabricksHandle>> {
    const h = sub.handle;
    if (!h) return { state: "Lost", reason: RunReason.Lost, message: "no Databricks handle recorded for this attempt" };
    const api = await this.api(sub.target, ctx);
    const links = { databricksRunId: String(h.runId) };
    let run: DatabricksRun;
    try {
      run = await api.getRun(h.runId);
    } catch (e) {
      if (isDatabricksNotFound(e)) return { state: "Lost", reason: RunReason.Lost, message: `Databricks run ${h.runId} no longer exists`, links };
      throw classifyDatabricksError(e, `runs/get ${h.runId}`);
    }
    const { state, reason } = mapRunState(run.state);
    const terminal = state === "Succeeded" || state === "Failed";
    let outputTail: string | undefined;
    let exitCode: number | undefined;
    let errorText: string | undefined;
    const taskRunId = run.tasks?.[0]?.run_id;
    if (taskRunId !== undefined && (state === "Running" || terminal)) {
      try {
        const out = await api.getRunOutput(taskRunId);
        if (out.logs !== undefined) {
          exitCode = exitCodeFromLogs(out.logs);
          outputTail = tailText(withoutMarker(out.logs).replace(/\n+$/, "\n"));
        }
        errorText = out.error;
      } catch {
        // Output is best effort: not there yet, or already expired (Databricks keeps it 60 days).
      }
    }
    if (exitCode === undefined && state === "Succeeded") exitCode = 0;
    const stateText = [run.state?.life_cycle_state, run.state?.result_state].filter(Boolean).join("/");
    const detail = errorText ?? run.state?.state_message;
    return {
      state, reason,
      message: `Databricks run ${h.runId} is ${stateText || "unknown"}${detail ? `: ${detail.split("\n")[0]}` : ""}`,
      links,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(outputTail !== undefined ? { outputTail } : {}),
      ...(terminal ? {} : { pollAfterMs: this.config.runPollMs }),
    };
  }

  async cancel(sub: Attempt<DatabricksHandle>, ctx: ProviderContext): Promise<void> {
    const h = sub.handle;
    if (!h) return;
    const api = await this.api(sub.target, ctx);
    try {
      const run = await api.getRun(h.runId);
      const lc = run.state?.life_cycle_state;
      if (lc === "TERMINATED" || lc === "TERMINATING" || lc === "SKIPPED" || lc === "INTERNAL_ERROR") return;
      await api.cancelRun(h.runId); // asynchronous on Databricks: observe sees TERMINATED/CANCELED later
    } catch (e) {
      if (isDatabricksNotFound(e)) return;
      throw classifyDatabricksError(e, `runs/cancel ${h.runId}`);
    }
  }

  /** The attempt ended: its SAS URLs leave the secret scope (they expire anyway). */
  async release({ run, target, number }: Attempt<DatabricksHandle>, ctx: ProviderContext): Promise<{ done: boolean }> {
    try {
      const api = await this.api(target, ctx);
      for (const [scope, key] of Object.values(attemptSecrets(this.config.secretScope, run, number))) await api.deleteSecret(scope, key);
      return { done: true };
    } catch (e) {
      throw classifyDatabricksError(e, `deleting the secrets of ${run.metadata.name} attempt ${number}`);
    }
  }

  /** The run stays in the workspace's history; only our entry file goes. */
  async cleanup({ target, handle: h }: Attempt<DatabricksHandle>, ctx: ProviderContext): Promise<void> {
    if (!h) return;
    try {
      const api = await this.api(target, ctx);
      // Handles from before entry files moved off DBFS point at dbfs:/ paths the Workspace API does not know.
      if (h.entryPath.startsWith("dbfs:")) return;
      await api.deleteWorkspaceFolder(h.entryPath.replace(/\/entry\.py$/, ""));
    } catch (e) {
      if (isDatabricksNotFound(e)) return;
      throw classifyDatabricksError(e, `deleting ${h.entryPath}`);
    }
  }
}
