import { BuiltinKinds, type KubeObject, type ResourceKind } from "../../kube/types.js";
import { isReason, Labels, RunReason } from "../../api/v1alpha1/index.js";
import { ConflictError, TerminalError } from "../../runtime/errors.js";
import { decodeShape } from "../shared/handle.js";
import type { Attempt, ProviderContext, RunExecutor, RunObservation } from "../types.js";
import { MATERIALIZE_CONTAINER, renderAttemptSecret, renderRunnerConfigMap } from "./data-plane-parts.js";
import { buildEnvironmentJob, buildRunJob, envBuildJobName, runJobName, TRAIN_CONTAINER } from "./job-builder.js";
import { containerState, jobCondition, jobFailureReason, waitingProblem, type Job, type Pod } from "./job-status.js";
import { isSystemManaged } from "./local-spec.js";

const OUTPUT_TAIL_LINES = 40;
const OUTPUT_TAIL_BYTES = 8 * 1024;
/** How long a just-created Job may be missing from the cache before we call it Lost. */
const CACHE_GRACE_MS = 30_000;
const POLL_RUNNING_MS = 10_000;
const POLL_PREPARING_MS = 5_000;

export interface LocalHandle {
  readonly jobName: string;
  readonly envJobName?: string;
  readonly jobCreated: boolean;
  readonly submittedAt: string;
}

type LocalAttempt = Attempt<LocalHandle>;

async function createIfAbsent(ctx: ProviderContext, obj: KubeObject, kind: ResourceKind = BuiltinKinds.Job): Promise<void> {
  try {
    await ctx.kube.create(kind, obj);
  } catch (err) {
    if (!(err instanceof ConflictError && err.alreadyExists)) throw err;
  }
}

const envJobOf = (ctx: ProviderContext, sub: LocalAttempt): Job | undefined =>
  ctx.kube.get<Job>(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: envBuildJobName(sub.environmentHash) });

function podsOf(ctx: ProviderContext, sub: LocalAttempt, role: "run" | "environment-build"): Pod[] {
  const labels: Record<string, string> = role === "run"
    ? { [Labels.runUid]: sub.run.metadata.uid ?? "", [Labels.attempt]: String(sub.number) }
    : { [Labels.envHash]: sub.environmentHash, [Labels.role]: "environment-build" };
  return ctx.kube.list<Pod>(BuiltinKinds.Pod, { namespace: sub.run.metadata.namespace ?? "", labels });
}

async function tail(ctx: ProviderContext, pod: Pod | undefined, container: string): Promise<string | undefined> {
  if (!pod?.metadata.name) return undefined;
  const text = await ctx.kube.podLogs(
    { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name },
    { container, tailLines: OUTPUT_TAIL_LINES, limitBytes: OUTPUT_TAIL_BYTES * 4 },
  );
  return text.length > OUTPUT_TAIL_BYTES ? text.slice(text.length - OUTPUT_TAIL_BYTES) : text;
}

/** Rank 0 first: its output is what users expect to see for a distributed run. */
const rankOrder = (a: Pod, b: Pod): number =>
  Number(a.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] ?? 0) -
  Number(b.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] ?? 0);

async function observeEnvironment(sub: LocalAttempt, ctx: ProviderContext): Promise<RunObservation<LocalHandle>> {
  const envJob = envJobOf(ctx, sub);
  if (envJob && jobCondition(envJob, "Complete")) return { state: "Preparing", reason: "BuildingEnvironment", continueSubmit: true };
  if (envJob && jobCondition(envJob, "Failed")) {
    const pod = podsOf(ctx, sub, "environment-build")[0];
    return {
      state: "Failed", reason: "EnvironmentFailed",
      message: `environment build Job ${envJob.metadata.name} failed`,
      outputTail: await tail(ctx, pod, "build"),
    };
  }
  return { state: "Preparing", reason: "BuildingEnvironment", message: `building environment ${sub.environmentHash}`, pollAfterMs: POLL_PREPARING_MS };
}

async function observeRunJob(sub: LocalAttempt, h: LocalHandle, ctx: ProviderContext): Promise<RunObservation<LocalHandle>> {
  const links = { jobName: h.jobName };
  const job = ctx.kube.get<Job>(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: h.jobName });
  if (!job) {
    const young = ctx.now.getTime() - Date.parse(h.submittedAt) < CACHE_GRACE_MS;
    return young
      ? { state: "Starting", links, pollAfterMs: POLL_PREPARING_MS }
      : { state: "Lost", reason: "Lost", message: `Job ${h.jobName} disappeared before reporting a result`, links };
  }
  const pods = podsOf(ctx, sub, "run").sort(rankOrder);
  const notMaterialized = pods.map((p) => containerState(p, MATERIALIZE_CONTAINER, true)?.terminated).find((t) => t && t.exitCode !== 0);
  if (notMaterialized) {
    // The runner's first word says why (SnapshotCorrupt, SnapshotUnavailable…); nothing ran.
    const [reason, ...rest] = (notMaterialized.message ?? "").split(": ");
    return {
      state: "Failed", reason: reason && isReason(reason) ? reason : RunReason.SnapshotUnavailable,
      message: `the snapshot was not materialized, the script did not run: ${rest.join(": ") || `init container exited ${notMaterialized.exitCode}`}`,
      links,
    };
  }
  const failedPod = pods.find((p) => (containerState(p, TRAIN_CONTAINER)?.terminated?.exitCode ?? 0) !== 0);
  const shownPod = failedPod ?? pods[0];
  const podLinks = { ...links, ...(shownPod?.metadata.name ? { podName: shownPod.metadata.name } : {}) };
  if (jobCondition(job, "Complete") || jobCondition(job, "SuccessCriteriaMet")) {
    return { state: "Succeeded", exitCode: 0, outputTail: await tail(ctx, shownPod, TRAIN_CONTAINER), links: podLinks };
  }
  if (jobCondition(job, "Failed") || jobCondition(job, "FailureTarget")) {
    const terminated = failedPod ? containerState(failedPod, TRAIN_CONTAINER)?.terminated : undefined;
    const reason = jobFailureReason(job);
    return {
      state: "Failed",
      ...(terminated ? { exitCode: terminated.exitCode } : {}),
      reason: reason === "DeadlineExceeded" ? "DeadlineExceeded" : (terminated?.reason === "OOMKilled" ? "OOMKilled" : "ScriptFailed"),
      message: terminated ? `container exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ""}` : `Job failed: ${reason ?? "unknown"}`,
      outputTail: await tail(ctx, shownPod, TRAIN_CONTAINER),
      links: podLinks,
    };
  }
  const running = pods.some((p) => containerState(p, TRAIN_CONTAINER)?.running);
  if (running) return { state: "Running", outputTail: await tail(ctx, shownPod, TRAIN_CONTAINER), links: podLinks, pollAfterMs: POLL_RUNNING_MS };
  const problem = pods.map(waitingProblem).find((p) => p);
  return { state: "Starting", ...(problem ? { message: problem } : {}), links: podLinks, pollAfterMs: POLL_PREPARING_MS };
}

/** The namespace's runner ConfigMap and the attempt's store Secret, before the Job that mounts them. */
async function ensureDataPlaneObjects(sub: Attempt, jobName: string, ctx: ProviderContext): Promise<void> {
  const namespace = sub.run.metadata.namespace ?? "";
  if (!sub.storage) throw new TerminalError("no run data plane for this attempt (the operator has no snapshot store)", "StoreNotConfigured");
  // Create-or-conflict: one request each, no read first (both are immutable once written).
  await createIfAbsent(ctx, renderRunnerConfigMap(namespace), BuiltinKinds.ConfigMap);
  await createIfAbsent(ctx, renderAttemptSecret(sub.run, jobName, await sub.storage.runnerEnv()), BuiltinKinds.Secret);
}

/** Runs attempts as batch/v1 Jobs in this cluster; system-managed environments build first. */
export const localRunExecutor: RunExecutor<LocalHandle> = {
  readsSnapshotFromStore: true,
  decodeHandle: (raw) => decodeShape<LocalHandle>(raw, { jobName: "string", envJobName: "string?", jobCreated: "boolean", submittedAt: "string" }),

  async submit(sub, ctx) {
    const jobName = runJobName(sub.run.metadata.name ?? "", sub.run.metadata.uid ?? "", sub.number);
    // Dates this call: the Job it creates may take a moment to reach the informer cache.
    const submittedAt = ctx.now.toISOString();
    if (isSystemManaged(sub.config)) {
      const handle: LocalHandle = { jobName, envJobName: envBuildJobName(sub.environmentHash), jobCreated: false, submittedAt };
      const envJob = envJobOf(ctx, sub);
      if (!envJob) await createIfAbsent(ctx, buildEnvironmentJob(sub));
      if (!envJob || !jobCondition(envJob, "Complete")) return handle;
      await ensureDataPlaneObjects(sub, jobName, ctx);
      await createIfAbsent(ctx, buildRunJob(sub));
      return { ...handle, jobCreated: true };
    }
    await ensureDataPlaneObjects(sub, jobName, ctx);
    await createIfAbsent(ctx, buildRunJob(sub));
    return { jobName, jobCreated: true, submittedAt };
  },

  async observe(sub, ctx) {
    const h = sub.handle;
    if (!h) return { state: "Lost", reason: "Lost", message: "no Local handle recorded for this attempt" };
    if (!h.jobCreated) return observeEnvironment(sub, ctx);
    return observeRunJob(sub, h, ctx);
  },

  async cancel(sub, ctx) {
    if (!sub.handle) return;
    await ctx.kube.delete(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: sub.handle.jobName }, { propagation: "Background" });
  },

  async cleanup({ run }, ctx) {
    const jobs = ctx.kube.list<Job>(BuiltinKinds.Job, { namespace: run.metadata.namespace ?? "", labels: { [Labels.runUid]: run.metadata.uid ?? "" } });
    for (const job of jobs) {
      await ctx.kube.delete(BuiltinKinds.Job, { namespace: job.metadata.namespace ?? "", name: job.metadata.name ?? "" }, { propagation: "Background" });
    }
  },
};
