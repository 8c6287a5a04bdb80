import type { ComputeTarget, Reason, RunConfigurationSpec, TrainingRun } from "../../api/v1alpha1/index.js";
import { RunReason, TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ResolvedAzureMlConfig } from "../shared/azure/config.js";
import { OUTPUT_TAIL_BYTES, tailText } from "../shared/output-tail.js";
import { decodeShape } from "../shared/handle.js";
import { sanitizeName } from "../shared/names.js";
import type { Attempt, AttemptState, ProviderContext, RunExecutor, RunObservation } from "../types.js";
import { batchSpecOf, type BatchArm } from "./arm.js";
import type { ResolvedAzureBatchConfig } from "./config.js";
import { BatchDataPlane, BatchServiceError, classifyBatchError, isBatchNotFound, type BatchTask } from "./data-plane.js";
import { runnerTask } from "./runner-task.js";

/** Persisted in TrainingRun.status.execution. Identifiers only; no SAS, key or token. */
export interface BatchHandle {
  readonly jobId: string;
  readonly taskId: string;
  readonly accountEndpoint: string;
}

const TASK_ID = "main";

/** Batch job id (≤ 64 chars): deterministic from run UID + attempt, so a repeated submit finds the job. */
export function batchJobId(run: TrainingRun, attempt: number): string {
  const uid = (run.metadata.uid ?? "").replace(/-/g, "").slice(0, 12);
  return `aml-${sanitizeName(run.metadata.name ?? "run").slice(0, 30) || "run"}-${uid}-a${attempt}`;
}

/** Batch task state → attempt state and the reason shown by the display phase. */
export function mapTaskState(t: BatchTask): { state: AttemptState; reason: Reason } {
  switch (t.state) {
    case "active":
      return { state: "Queued", reason: RunReason.Queued };
    case "preparing":
      return { state: "Starting", reason: RunReason.Starting };
    case "running":
      return { state: "Running", reason: RunReason.Running };
    case "completed": {
      const info = t.executionInfo;
      if (info?.result === "success") return { state: "Succeeded", reason: RunReason.Completed };
      const code = info?.failureInfo?.code;
      if (code === "TaskEnded") return { state: "Failed", reason: RunReason.Canceled };
      if (code === "MaxWallClockTimeExceeded" || code === "TaskMaxWallClockTimeExceeded") return { state: "Failed", reason: RunReason.DeadlineExceeded };
      if (info?.exitCode === undefined) return { state: "Failed", reason: RunReason.SubmissionFailed };
      return { state: "Failed", reason: RunReason.ScriptFailed };
    }
  }
}

function autoPool(config: RunConfigurationSpec, vmSize: string): Record<string, unknown> {
  return {
    autoPoolSpecification: {
      autoPoolIdPrefix: "aml",
      poolLifetimeOption: "job", // the pool goes with the job: nothing keeps costing money
      keepAlive: false,
      pool: {
        vmSize,
        targetDedicatedNodes: Math.max(1, config.nodeCount),
        taskSlotsPerNode: 1,
        // A multi-instance task (nodeCount > 1) needs its nodes to reach each other.
        ...(config.nodeCount > 1 ? { enableInterNodeCommunication: true } : {}),
        virtualMachineConfiguration: {
          imageReference: { publisher: "canonical", offer: "0001-com-ubuntu-server-jammy", sku: "22_04-lts", version: "latest" },
          nodeAgentSKUId: "batch.node.ubuntu 22.04",
        },
      },
    },
  };
}

/**
 * TrainingRuns on Azure Batch: one job (named from run UID + attempt) with one task. submit: the
 * task runs the data-plane runner (runner-task.ts), which fetches and verifies the snapshot from
 * the run store, runs the command and uploads ./outputs and the log; adding an existing job or
 * task is a no-op, so a repeat after a crash creates nothing new. observe: one
 * task GET plus the stdout (and, on failure, stderr) tail from the task files API. cancel:
 * terminate the task and the job.
 */
export class BatchRunExecutor implements RunExecutor<BatchHandle> {
  private readonly planes = new Map<string, BatchDataPlane>();

  constructor(private readonly arm: BatchArm, private readonly azure: ResolvedAzureMlConfig, private readonly config: ResolvedAzureBatchConfig) {}

  private async plane(target: ComputeTarget, ctx: ProviderContext, endpoint: string): Promise<BatchDataPlane> {
    const cred = await this.arm.azure.credentialFor(target, ctx);
    const key = `${cred.cacheKey}|${endpoint}`;
    let plane = this.planes.get(key);
    if (!plane) {
      plane = new BatchDataPlane(cred.credential, endpoint, { scope: this.config.batchScope, apiVersion: this.config.dataPlaneApiVersion, caBundlePath: this.azure.caBundlePath });
      this.planes.set(key, plane);
    }
    return plane;
  }

  decodeHandle(raw: unknown): BatchHandle | undefined {
    return decodeShape<BatchHandle>(raw, { jobId: "string", taskId: "string", accountEndpoint: "string" });
  }

  async submit(sub: Attempt<BatchHandle>, ctx: ProviderContext): Promise<BatchHandle> {
    const spec = batchSpecOf(sub.target);
    const client = await this.arm.client(sub.target, ctx, spec.subscriptionId);
    const account = await this.arm.account(client, spec);
    if (!account?.accountEndpoint) throw new TerminalError(`Batch account ${spec.accountName} not found`, TargetReason.ComputeNotFound);
    const jobId = batchJobId(sub.run, sub.number);
    const handle: BatchHandle = { jobId, taskId: TASK_ID, accountEndpoint: account.accountEndpoint };
    const plane = await this.plane(sub.target, ctx, account.accountEndpoint);
    try {
      // Submitted before (a crash after adding the task, or a repeated call): nothing to upload.
      if (await plane.getTask(jobId, TASK_ID).then(() => true, (e: unknown) => { if (isBatchNotFound(e)) return false; throw e; })) return handle;
      if (!sub.storage) throw new TerminalError("no run data plane for this attempt (the operator has no snapshot store)", RunReason.StoreNotConfigured);
      const task = await runnerTask(sub, sub.storage);
      const owner = `${sub.run.metadata.namespace ?? "default"}/${sub.run.metadata.name}`;
      await plane.addJob({
        id: jobId,
        displayName: `${owner} attempt ${sub.number}`,
        poolInfo: spec.poolId ? { poolId: spec.poolId } : autoPool(sub.config, this.config.autoPoolVmSize),
        // Not "terminatejob": an auto-pool would go (with the task's stdout) before observe read
        // it. observe terminates the job once it has the output.
        onAllTasksComplete: "noaction",
        metadata: [{ name: "amlcompute.dev/run-uid", value: sub.run.metadata.uid ?? "" }, { name: "amlcompute.dev/run", value: owner }],
      });
      await plane.addTask(jobId, {
        id: TASK_ID,
        displayName: sub.runId,
        ...task,
        constraints: { maxTaskRetryCount: 0, ...(sub.config.maxRunDurationSeconds ? { maxWallClockTime: `PT${sub.config.maxRunDurationSeconds}S` } : {}) },
        userIdentity: { autoUser: { scope: "task", elevationLevel: "nonadmin" } },
      });
      ctx.log.info({ batchJobId: jobId, account: spec.accountName }, "Submitted Azure Batch job");
      return handle;
    } catch (e) {
      throw classifyBatchError(e, `submitting Batch job ${jobId}`);
    }
  }

  async observe(sub: Attempt<BatchHandle>, ctx: ProviderContext): Promise<RunObservation<BatchHandle>> {
    const h = sub.handle;
    if (!h) return { state: "Lost", reason: RunReason.Lost, message: "no Batch handle recorded for this attempt" };
    const plane = await this.plane(sub.target, ctx, h.accountEndpoint);
    const links = { batchJobId: h.jobId, batchTaskId: h.taskId };
    let task: BatchTask;
    try {
      task = await plane.getTask(h.jobId, h.taskId);
    } catch (e) {
      if (isBatchNotFound(e)) return { state: "Lost", reason: RunReason.Lost, message: `Batch task ${h.jobId}/${h.taskId} no longer exists`, links };
      throw classifyBatchError(e, `GET Batch task ${h.jobId}/${h.taskId}`);
    }
    const { state, reason } = mapTaskState(task);
    const terminal = state === "Succeeded" || state === "Failed";
    let outputTail: string | undefined;
    if (state === "Running" || terminal) {
      try {
        const out = await plane.taskFileTail(h.jobId, h.taskId, "stdout.txt", OUTPUT_TAIL_BYTES);
        const err = state === "Failed" ? await plane.taskFileTail(h.jobId, h.taskId, "stderr.txt", 2048) : undefined;
        const text = `${out ?? ""}${err ? `${out && !out.endsWith("\n") ? "\n" : ""}--- stderr ---\n${err}` : ""}`;
        outputTail = tailText(text, OUTPUT_TAIL_BYTES);
      } catch {
        // Output is best effort: the node may be gone (auto-pool deleted) after the job ended.
      }
    }
    const info = task.executionInfo;
    const failure = info?.failureInfo ? `: ${info.failureInfo.code ?? ""} ${info.failureInfo.message ?? ""}`.trimEnd() : "";
    return {
      state, reason, links,
      message: `Batch task ${h.jobId}/${h.taskId} is ${task.state}${info?.exitCode !== undefined ? ` (exit code ${info.exitCode})` : ""}${failure}`,
      ...(info?.exitCode !== undefined && terminal ? { exitCode: info.exitCode } : {}),
      ...(outputTail !== undefined ? { outputTail } : {}),
      ...(terminal ? {} : { pollAfterMs: this.config.taskPollMs }),
    };
  }

  async cancel(sub: Attempt<BatchHandle>, ctx: ProviderContext): Promise<void> {
    const h = sub.handle;
    if (!h) return;
    const plane = await this.plane(sub.target, ctx, h.accountEndpoint);
    try {
      const task = await plane.getTask(h.jobId, h.taskId);
      if (task.state !== "completed") await plane.terminateTask(h.jobId, h.taskId);
      await this.terminateJob(plane, h.jobId, "Canceled by aml-compute-operator");
    } catch (e) {
      if (isBatchNotFound(e)) return;
      throw classifyBatchError(e, `terminating Batch job ${h.jobId}`);
    }
  }

  /** Terminates a job; one that is completed or terminating already (409) or gone (404) is fine. */
  private async terminateJob(plane: BatchDataPlane, jobId: string, reason: string): Promise<void> {
    try {
      await plane.terminateJob(jobId, reason);
    } catch (e) {
      if (e instanceof BatchServiceError && (e.status === 409 || e.status === 404)) return;
      throw classifyBatchError(e, `terminating Batch job ${jobId}`);
    }
  }

  /**
   * RunExecutor.release: the attempt ended (any outcome, cancel and deadline included) and its
   * output was read by the last observe, so the job is terminated, and an auto-pool goes with it.
   */
  async release({ run, target, handle: h }: Attempt<BatchHandle>, ctx: ProviderContext): Promise<{ done: boolean }> {
    if (!h) return { done: true };
    const plane = await this.plane(target, ctx, h.accountEndpoint);
    await this.terminateJob(plane, h.jobId, `TrainingRun ${run.metadata.name} attempt ended`);
    return { done: true };
  }

  /** Deletes the job (its auto-pool went with it already); snapshot blobs are shared by digest and stay. */
  async cleanup({ target, handle: h }: Attempt<BatchHandle>, ctx: ProviderContext): Promise<void> {
    if (!h) return;
    const plane = await this.plane(target, ctx, h.accountEndpoint);
    try {
      await plane.deleteJob(h.jobId);
    } catch (e) {
      if (isBatchNotFound(e)) return;
      throw classifyBatchError(e, `deleting Batch job ${h.jobId}`);
    }
  }
}
