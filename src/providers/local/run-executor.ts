import { BuiltinKinds, type KubeObject, type ResourceKind } from "../../kube/types.js";
import { Labels, RunConfigReason, RunReason } from "../../api/v1alpha1/index.js";
import { isSystemManaged } from "../../controllers/run-configuration/environment-hash.js";
import { ConflictError, TerminalError } from "../../runtime/errors.js";
import { manifestOf } from "../../snapshot/store.js";
import type { ExecutionHandle, ProviderContext, RunExecutor, RunObservation, RunSubmission } from "../types.js";
import { DEFAULT_SCHEDULING_TIMEOUT_SECONDS, localDistributionProblem } from "./distribution.js";
import { buildEnvironmentJob, buildHeadlessService, buildRunJob, envBuildJobName, layoutOfAttempt, TRAIN_CONTAINER } from "./job-builder.js";
import {
  containerState, firstFailedPod, gangTimeout, jobCondition, jobFailureReason, rankOf, unschedulable, waitingProblem, type Job, type Pod,
} from "./job-status.js";

const OUTPUT_TAIL_LINES = 40;
const OUTPUT_TAIL_BYTES = 8 * 1024;
/** How long a just-created Job may be missing from the cache before we call it Lost. */
const CACHE_GRACE_MS = 30_000;
const POLL_RUNNING_MS = 10_000;
const POLL_PREPARING_MS = 5_000;

interface LocalHandle {
  jobName: string;
  /** The headless Service of a multi-node attempt (deleted when the attempt ends). */
  serviceName?: string;
  envJobName?: string;
  jobCreated: boolean;
  submittedAt: string;
}

const asHandle = (h: ExecutionHandle): LocalHandle => h as unknown as LocalHandle;

async function createIfAbsent(ctx: ProviderContext, obj: KubeObject, kind: ResourceKind = BuiltinKinds.Job): Promise<void> {
  try {
    await ctx.kube.create(kind, obj);
  } catch (err) {
    if (!(err instanceof ConflictError && err.alreadyExists)) throw err;
  }
}

const envJobOf = (ctx: ProviderContext, sub: RunSubmission): Job | undefined =>
  ctx.kube.get<Job>(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: envBuildJobName(sub.environmentHash) });

function podsOf(ctx: ProviderContext, sub: RunSubmission, role: "run" | "environment-build"): Pod[] {
  const labels: Record<string, string> = role === "run"
    ? { [Labels.runUid]: sub.run.metadata.uid ?? "", [Labels.attempt]: String(sub.attempt) }
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
const rankOrder = (a: Pod, b: Pod): number => rankOf(a) - rankOf(b);

async function observeEnvironment(sub: RunSubmission, ctx: ProviderContext): Promise<RunObservation> {
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

async function observeRunJob(sub: RunSubmission, h: LocalHandle, ctx: ProviderContext): Promise<RunObservation> {
  const links = { jobName: h.jobName };
  const job = ctx.kube.get<Job>(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: h.jobName });
  if (!job) {
    const young = ctx.now.getTime() - Date.parse(h.submittedAt) < CACHE_GRACE_MS;
    return young
      ? { state: "Starting", links, pollAfterMs: POLL_PREPARING_MS }
      : { state: "Lost", reason: "Lost", message: `Job ${h.jobName} disappeared before reporting a result`, links };
  }
  const pods = podsOf(ctx, sub, "run").sort(rankOrder);
  const failedPod = firstFailedPod(pods, TRAIN_CONTAINER);
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
  if (sub.config.nodeCount > 1) {
    const bound = sub.config.schedulingTimeoutSeconds ?? DEFAULT_SCHEDULING_TIMEOUT_SECONDS;
    const gang = gangTimeout(job, pods, { ranks: sub.config.nodeCount, boundSeconds: bound, now: ctx.now });
    // The executor only reports; release (or the next attempt's submit) stops the placed ranks.
    if (gang) return { state: "Failed", reason: RunReason.Unschedulable, message: gang, outputTail: await tail(ctx, shownPod, TRAIN_CONTAINER), links: podLinks };
  }
  const running = pods.some((p) => containerState(p, TRAIN_CONTAINER)?.running);
  if (running) return { state: "Running", outputTail: await tail(ctx, shownPod, TRAIN_CONTAINER), links: podLinks, pollAfterMs: POLL_RUNNING_MS };
  const pending = pods.map((p) => unschedulable(p)?.message).find((m) => m);
  const problem = pods.map(waitingProblem).find((p) => p) ?? (pending ? `waiting to be scheduled: ${pending}` : undefined);
  return { state: "Starting", ...(problem ? { message: problem } : {}), links: podLinks, pollAfterMs: POLL_PREPARING_MS };
}

const finished = (job: Job): boolean =>
  jobCondition(job, "Complete") || jobCondition(job, "Failed") || jobCondition(job, "FailureTarget") || jobCondition(job, "SuccessCriteriaMet");

/**
 * Suspending a Job makes the Job controller delete its active pods (SIGTERM, grace period) while
 * the Job and its finished pods stay for `kubectl logs`.
 */
async function stopIfActive(ctx: ProviderContext, job: Job): Promise<void> {
  if (finished(job) || (job.spec as { suspend?: boolean } | undefined)?.suspend) return;
  await ctx.kube.patchSpec(BuiltinKinds.Job, { namespace: job.metadata.namespace ?? "", name: job.metadata.name ?? "" }, { suspend: true });
}

/** A new attempt never runs beside the ranks of the previous one, nor keeps its Service. */
async function stopEarlierAttempts(sub: RunSubmission, ctx: ProviderContext): Promise<void> {
  const namespace = sub.run.metadata.namespace ?? "";
  const jobs = ctx.kube.list<Job>(BuiltinKinds.Job, { namespace, labels: { [Labels.runUid]: sub.run.metadata.uid ?? "", [Labels.role]: "run" } });
  for (const job of jobs) {
    if (Number(job.metadata.labels?.[Labels.attempt] ?? 0) < sub.attempt) await stopIfActive(ctx, job);
  }
  const previous = layoutOfAttempt({ ...sub, attempt: sub.attempt - 1 });
  if (previous.serviceName) await ctx.kube.delete(BuiltinKinds.Service, { namespace, name: previous.serviceName });
}

/** Runs attempts as batch/v1 Jobs in this cluster; system-managed environments build first. */
export const localRunExecutor: RunExecutor = {
  async submit(sub, ctx) {
    // Runs with inline configurations reach here without a RunConfiguration that said no first.
    const unsupported = localDistributionProblem(sub.config);
    if (unsupported) throw new TerminalError(unsupported, RunConfigReason.UnsupportedOnTarget);
    const layout = layoutOfAttempt(sub);
    const handle: LocalHandle = {
      jobName: layout.jobName, ...(layout.serviceName ? { serviceName: layout.serviceName } : {}),
      jobCreated: false, submittedAt: ctx.now.toISOString(),
    };
    if (isSystemManaged(sub.config)) {
      handle.envJobName = envBuildJobName(sub.environmentHash);
      const envJob = envJobOf(ctx, sub);
      if (!envJob) await createIfAbsent(ctx, buildEnvironmentJob(sub));
      if (!envJob || !jobCondition(envJob, "Complete")) return { ...handle };
    }
    if (sub.attempt > 1) await stopEarlierAttempts(sub, ctx);
    const service = buildHeadlessService(sub, layout);
    if (service) await createIfAbsent(ctx, service, BuiltinKinds.Service);
    await createIfAbsent(ctx, buildRunJob(sub, manifestOf(sub.snapshot)));
    return { ...handle, jobCreated: true };
  },

  async observe(sub, handle, ctx) {
    const h = asHandle(handle);
    if (!h.jobCreated) return observeEnvironment(sub, ctx);
    return observeRunJob(sub, h, ctx);
  },

  async cancel(sub, handle, ctx) {
    const h = asHandle(handle);
    await ctx.kube.delete(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: h.jobName }, { propagation: "Background" });
  },

  /** The run ended: stop ranks still placed (a gang timeout leaves them running), drop the Service. */
  async release(run, _target, handle, ctx) {
    const h = handle ? asHandle(handle) : undefined;
    if (!h?.jobName) return { done: true };
    const namespace = run.metadata.namespace ?? "";
    const job = ctx.kube.get<Job>(BuiltinKinds.Job, { namespace, name: h.jobName });
    if (job) await stopIfActive(ctx, job);
    if (h.serviceName) await ctx.kube.delete(BuiltinKinds.Service, { namespace, name: h.serviceName });
    return { done: true };
  },

  async cleanup(run, _target, handle, ctx) {
    const h = handle ? asHandle(handle) : undefined;
    if (h?.serviceName) await ctx.kube.delete(BuiltinKinds.Service, { namespace: run.metadata.namespace ?? "", name: h.serviceName });
    const jobs = ctx.kube.list<Job>(BuiltinKinds.Job, { namespace: run.metadata.namespace ?? "", labels: { [Labels.runUid]: run.metadata.uid ?? "" } });
    for (const job of jobs) {
      await ctx.kube.delete(BuiltinKinds.Job, { namespace: job.metadata.namespace ?? "", name: job.metadata.name ?? "" }, { propagation: "Background" });
    }
  },
};
