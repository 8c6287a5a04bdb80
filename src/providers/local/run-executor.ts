import { BuiltinKinds, type KubeObject, type ResourceKind } from "../../kube/types.js";
import { isReason, Labels, RunReason, type RunLinks } from "../../api/v1alpha1/index.js";
import type { ObjectEvent } from "../../kube/client.js";
import { ConflictError, InvalidError, TerminalError } from "../../runtime/errors.js";
import { decodeShape } from "../shared/handle.js";
import { OUTPUT_TAIL_BYTES, TAIL_REFRESH_MS, TailSchedule, tailText } from "../shared/output-tail.js";
import type { Attempt, ProviderContext, RunExecutor, RunObservation } from "../types.js";
import { terminationRefusal } from "../../data-plane/runner/index.js";
import { renderAttemptSecret, renderRunnerConfigMap } from "./data-plane-parts.js";
import { DEFAULT_SCHEDULING_TIMEOUT_SECONDS } from "./distribution.js";
import { buildEnvironmentJob, buildHeadlessService, buildRunJob, envBuildJobName, layoutOfAttempt, TRAIN_CONTAINER } from "./job-builder.js";
import {
  containerState, firstFailedPod, gangTimeout, jobCondition, jobFailureReason, notStartedBecause, rankOf, startTimeout, unschedulable,
  type Job, type Pod,
} from "./job-status.js";
import { usableEnvironmentCache, type LocalTargetsConfig } from "./host-path.js";
import { isSystemManaged, localSpecOf } from "./local-spec.js";

const OUTPUT_TAIL_LINES = 40;
/** How long a just-created Job may be missing from the cache before we call it Lost. */
const CACHE_GRACE_MS = 30_000;
const POLL_PREPARING_MS = 5_000;
/** A namespace's runner ConfigMap is re-ensured this often (it heals one deleted by hand). */
const RUNNER_CONFIGMAP_RECHECK_MS = 10 * 60_000;
/** Attempts not started this long after their Job was created read the Warning Events about it. */
const EVENTS_AFTER_MS = 10_000;
/**
 * A pending attempt is observed on every reconcile; its Warning Events are listed at most this
 * often (under load, one list per reconcile was 14-18 lists per run at N=100).
 */
const EVENTS_REFRESH_MS = 15_000;

export interface LocalHandle {
  readonly jobName: string;
  /** The headless Service of a multi-node attempt (deleted when the attempt ends). */
  readonly serviceName?: string;
  readonly envJobName?: string;
  readonly jobCreated: boolean;
  readonly submittedAt: string;
}

type LocalAttempt = Attempt<LocalHandle>;

const tails = new TailSchedule();
const attemptKey = (sub: Attempt): string => `${sub.run.metadata.uid ?? ""}/${sub.number}`;

async function createIfAbsent(ctx: ProviderContext, obj: KubeObject, kind: ResourceKind = BuiltinKinds.Job): Promise<void> {
  try {
    await ctx.kube.create(kind, obj);
  } catch (err) {
    if (err instanceof ConflictError && err.alreadyExists) return;
    // The API server refused the object itself: retrying the same object cannot help.
    if (err instanceof InvalidError) {
      throw new TerminalError(`the API server refused ${kind.kind} ${obj.metadata.name ?? ""}: ${err.message}`, RunReason.SubmissionFailed, { cause: err });
    }
    throw err;
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
  return tailText(text);
}

/** An attempt whose Job exists (or was just created) and has no pod running or in trouble yet. */
const starting = (h: LocalHandle): RunObservation<LocalHandle> => ({ state: "Starting", links: { jobName: h.jobName }, pollAfterMs: POLL_PREPARING_MS });

/** Every rank's script exited 0: the attempt succeeded, without waiting for the Job controller's Complete. */
function allRanksSucceeded(pods: readonly Pod[], ranks: number): boolean {
  const exited = pods.filter((p) => containerState(p, TRAIN_CONTAINER)?.terminated?.exitCode === 0);
  return exited.length === pods.length && new Set(exited.map(rankOf)).size >= ranks;
}

/** Rank 0 first: its output is what users expect to see for a distributed run. */
const rankOrder = (a: Pod, b: Pod): number => rankOf(a) - rankOf(b);

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

async function observeRunJob(sub: LocalAttempt, h: LocalHandle, ctx: ProviderContext, eventsRead: EventsRead): Promise<RunObservation<LocalHandle>> {
  const links = { jobName: h.jobName };
  const job = ctx.kube.get<Job>(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: h.jobName });
  if (!job) {
    const young = ctx.now.getTime() - Date.parse(h.submittedAt) < CACHE_GRACE_MS;
    return young ? starting(h) : { state: "Lost", reason: "Lost", message: `Job ${h.jobName} disappeared before reporting a result`, links };
  }
  const pods = podsOf(ctx, sub, "run").sort(rankOrder);
  const refused = pods.map((p) => terminationRefusal(containerState(p, TRAIN_CONTAINER)?.terminated)).find((r) => r !== undefined);
  if (refused) {
    // The runner says why (SnapshotCorrupt, SnapshotUnavailable…); nothing ran.
    return {
      state: "Failed", reason: isReason(refused.reason) ? refused.reason : RunReason.SnapshotUnavailable,
      message: `the snapshot was not materialized, the script did not run: ${refused.message}`,
      links,
    };
  }
  const failedPod = firstFailedPod(pods, TRAIN_CONTAINER);
  const shownPod = failedPod ?? pods[0];
  const podLinks = { ...links, ...(shownPod?.metadata.name ? { podName: shownPod.metadata.name } : {}) };
  if (jobCondition(job, "Complete") || jobCondition(job, "SuccessCriteriaMet") || allRanksSucceeded(pods, sub.config.nodeCount)) {
    tails.forget(attemptKey(sub));
    return { state: "Succeeded", exitCode: 0, outputTail: await tail(ctx, shownPod, TRAIN_CONTAINER), links: podLinks };
  }
  if (jobCondition(job, "Failed") || jobCondition(job, "FailureTarget")) {
    tails.forget(attemptKey(sub));
    const terminated = failedPod ? containerState(failedPod, TRAIN_CONTAINER)?.terminated : undefined;
    const reason = jobFailureReason(job);
    const deleted = failedPod?.metadata.deletionTimestamp !== undefined || (!terminated && reason !== "DeadlineExceeded");
    if (deleted) {
      // Someone deleted the pod (its SIGTERM exit 143 is not the script's verdict): lost, retried within backoffLimit.
      return { state: "Lost", reason: RunReason.Lost, message: `pod ${shownPod?.metadata.name ?? `of Job ${h.jobName}`} was deleted before the script finished`, links: podLinks };
    }
    if (terminated?.reason === "StartError" || terminated?.reason === "ContainerCannotRun") {
      return {
        state: "Failed", exitCode: terminated.exitCode, reason: RunReason.StartError,
        message: `the container could not start: ${terminated.message ?? terminated.reason}`, links: podLinks,
      };
    }
    return {
      state: "Failed",
      ...(terminated ? { exitCode: terminated.exitCode } : {}),
      reason: reason === "DeadlineExceeded" ? "DeadlineExceeded" : (terminated?.reason === "OOMKilled" ? "OOMKilled" : "ScriptFailed"),
      message: terminated
        ? `container exited with code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason}${terminated.message ? `: ${terminated.message}` : ""})` : ""}`
        : `Job failed: ${reason ?? "unknown"}`,
      outputTail: await tail(ctx, shownPod, TRAIN_CONTAINER),
      links: podLinks,
    };
  }
  const runningRanks = pods.filter((p) => containerState(p, TRAIN_CONTAINER)?.running).length;
  if (runningRanks > 0) {
    // Gang semantics: a rank that runs does not excuse one that cannot be placed within the bound.
    const gang = gangTimeout(job, pods, { ranks: sub.config.nodeCount, boundSeconds: schedulingBound(sub), now: ctx.now });
    if (gang) return { state: "Failed", reason: pods.some((p) => unschedulable(p)) ? RunReason.Unschedulable : RunReason.CannotStart, message: gang, links: podLinks };
    // Each new tail is a status write: at most one per TAIL_REFRESH_MS while the script runs.
    const outputTail = tails.due(attemptKey(sub), ctx.now.getTime()) ? await tail(ctx, shownPod, TRAIN_CONTAINER) : undefined;
    const allRanksRun = runningRanks >= sub.config.nodeCount;
    return { state: "Running", ...(outputTail !== undefined ? { outputTail } : {}), links: podLinks, pollAfterMs: allRanksRun ? TAIL_REFRESH_MS : POLL_PREPARING_MS };
  }
  return observeNotStarted(sub, { handle: h, job, pods, links: podLinks }, ctx, eventsRead);
}

const schedulingBound = (sub: LocalAttempt): number => sub.config.schedulingTimeoutSeconds ?? DEFAULT_SCHEDULING_TIMEOUT_SECONDS;

/**
 * An attempt whose pods are not running yet says why while it waits (the pods' state and the
 * Warning Events of the Job and its pods: FailedCreate, FailedScheduling, FailedMount…), and fails
 * with that reason once schedulingTimeoutSeconds passed: Unschedulable when a rank cannot be
 * placed, CannotStart when pods cannot be created or their containers cannot start. observe only
 * reports; release (the attempt has ended) stops the ranks that were placed.
 */
async function observeNotStarted(
  sub: LocalAttempt, { handle, job, pods, links }: { handle: LocalHandle; job: Job; pods: Pod[]; links: RunLinks }, ctx: ProviderContext,
  eventsRead: EventsRead,
): Promise<RunObservation<LocalHandle>> {
  const ranks = sub.config.nodeCount;
  const bound = schedulingBound(sub);
  const because = notStartedBecause(pods, await startEvents(sub, { job, pods }, ctx, eventsRead), ranks);
  const gang = gangTimeout(job, pods, { ranks, boundSeconds: bound, now: ctx.now });
  if (gang) {
    const placing = pods.some((p) => unschedulable(p));
    return {
      state: "Failed", reason: placing ? RunReason.Unschedulable : RunReason.CannotStart,
      message: placing || !because ? gang : `${gang}: ${because}`, links,
    };
  }
  const stuck = startTimeout(pods, { ranks, boundSeconds: bound, now: ctx.now, because });
  if (stuck) return { state: "Failed", reason: RunReason.CannotStart, message: stuck, links };
  // The pod is named in status once it runs, or now when it is in trouble (not one write per pod event).
  if (!because) return starting(handle);
  return { ...starting(handle), message: `attempt ${sub.number} has not started: ${because} (it fails after schedulingTimeoutSeconds, ${bound}s)`, links };
}

/**
 * Warning Events about the Job (pods it could not create) and its pods that have not started.
 * Read live, and only once the Job is older than EVENTS_AFTER_MS: a healthy attempt starts before
 * that and never costs the API server a list.
 */
async function startEvents(
  sub: LocalAttempt, { job, pods }: { job: Job; pods: Pod[] }, ctx: ProviderContext, eventsRead: EventsRead,
): Promise<ObjectEvent[]> {
  const age = ctx.now.getTime() - Date.parse(job.metadata.creationTimestamp ?? "");
  if (!(age >= EVENTS_AFTER_MS)) return [];
  const namespace = sub.run.metadata.namespace ?? "";
  const about = [
    ...(pods.length < sub.config.nodeCount ? [job.metadata.uid] : []),
    ...pods.filter((p) => !containerState(p, TRAIN_CONTAINER)?.running).map((p) => p.metadata.uid),
  ].filter((uid): uid is string => uid !== undefined);
  // Keyed by what is asked about too: a new pod (or the Job's first pod) is read at once.
  const key = `${attemptKey(sub)}|${about.join(",")}`;
  const nowMs = ctx.now.getTime();
  const recent = eventsRead.get(key);
  if (recent && nowMs - recent.atMs < EVENTS_REFRESH_MS) return recent.events;
  for (const [k, read] of eventsRead) if (nowMs - read.atMs >= EVENTS_REFRESH_MS) eventsRead.delete(k);
  const lists = await Promise.all(about.map((uid) => ctx.kube.warningEvents(namespace, uid)));
  const events = lists.flat().sort((a, b) => (b.lastSeen ?? "").localeCompare(a.lastSeen ?? ""));
  eventsRead.set(key, { atMs: nowMs, events });
  return events;
}

/** The last Warning Events read per pending attempt, per executor (entries older than the refresh are dropped on each read). */
type EventsRead = Map<string, { atMs: number; events: ObjectEvent[] }>;

/**
 * Namespaces whose runner ConfigMap (named by the runner's content hash) this process created or
 * found (or is creating), and when. A pod whose ConfigMap went missing waits for its volume: the
 * kubelet retries the mount, so the next recheck heals it. Runs of one namespace submitted at the
 * same moment share the one create.
 */
const runnerConfigMaps = new Map<string, { atMs: number; ready: Promise<void> }>();

function ensureRunnerConfigMap(namespace: string, ctx: ProviderContext): Promise<void> {
  const nowMs = ctx.now.getTime();
  const known = runnerConfigMaps.get(namespace);
  if (known && nowMs - known.atMs < RUNNER_CONFIGMAP_RECHECK_MS) return known.ready;
  const ready = createIfAbsent(ctx, renderRunnerConfigMap(namespace), BuiltinKinds.ConfigMap).catch((err: unknown) => {
    runnerConfigMaps.delete(namespace);
    throw err;
  });
  runnerConfigMaps.set(namespace, { atMs: nowMs, ready });
  return ready;
}

/** The namespace's runner ConfigMap and the attempt's store Secret, before the Job that mounts them. */
async function ensureDataPlaneObjects(sub: Attempt, jobName: string, ctx: ProviderContext): Promise<void> {
  const namespace = sub.run.metadata.namespace ?? "";
  if (!sub.storage) throw new TerminalError("no run data plane for this attempt (the operator has no snapshot store)", "StoreNotConfigured");
  // Create-or-conflict: one request each, no read first (both are immutable once written). The
  // ConfigMap is shared by the namespace's runs: ensured once, not once per run.
  const secret = renderAttemptSecret(sub.run, jobName, await sub.storage.runnerEnv());
  await Promise.all([ensureRunnerConfigMap(namespace, ctx), createIfAbsent(ctx, secret, BuiltinKinds.Secret)]);
}

const finished = (job: Job): boolean =>
  jobCondition(job, "Complete") || jobCondition(job, "Failed") || jobCondition(job, "FailureTarget") || jobCondition(job, "SuccessCriteriaMet");

/**
 * Suspending a Job makes the Job controller delete its active pods (SIGTERM, grace period) while
 * the Job and its finished pods stay for `kubectl logs`.
 */
async function stopIfActive(ctx: ProviderContext, job: Job, sub: LocalAttempt): Promise<void> {
  if (finished(job) || (job.spec as { suspend?: boolean } | undefined)?.suspend) return;
  // Every rank's pod ran to its end (a success seen before the Job controller's Complete): nothing to stop.
  const pods = podsOf(ctx, sub, "run");
  const ended = pods.filter((p) => containerState(p, TRAIN_CONTAINER)?.terminated || p.status?.phase === "Succeeded" || p.status?.phase === "Failed");
  if (ended.length === pods.length && new Set(pods.map(rankOf)).size >= sub.config.nodeCount) return;
  await ctx.kube.patchSpec(BuiltinKinds.Job, { namespace: job.metadata.namespace ?? "", name: job.metadata.name ?? "" }, { suspend: true });
}

/**
 * Runs attempts as batch/v1 Jobs in this cluster; system-managed environments build first, into a
 * cache whose node directory (if any) the administrator allowed.
 */
export const localRunExecutor = (config: LocalTargetsConfig, eventsRead: EventsRead = new Map()): RunExecutor<LocalHandle> => ({
  // Jobs, Services and Secrets carry the run's ownerReference: the garbage collector deletes them with it.
  ownedByRun: true,
  // The Job, its pods and Service belong to the run: a deleted ComputeTarget changes none of them.
  observesWithoutTarget: true,
  decodeHandle: (raw) => decodeShape<LocalHandle>(raw, {
    jobName: "string", serviceName: "string?", envJobName: "string?", jobCreated: "boolean", submittedAt: "string",
  }),

  async submit(sub, ctx) {
    const layout = layoutOfAttempt(sub);
    // Dates this call: the Job it creates may take a moment to reach the informer cache.
    const base = { jobName: layout.jobName, ...(layout.serviceName ? { serviceName: layout.serviceName } : {}), submittedAt: ctx.now.toISOString() };
    const handle: LocalHandle = isSystemManaged(sub.config)
      ? { ...base, envJobName: envBuildJobName(sub.environmentHash), jobCreated: false }
      : { ...base, jobCreated: false };
    if (handle.envJobName) {
      // Checked again here, not only in the target's Ready: no pod ever mounts a refused path.
      usableEnvironmentCache(localSpecOf(sub.target), config);
      const envJob = envJobOf(ctx, sub);
      if (!envJob) await createIfAbsent(ctx, buildEnvironmentJob(sub));
      if (!envJob || !jobCondition(envJob, "Complete")) return handle;
    }
    // The Service before the Job: rank 0's name must resolve as soon as the other ranks dial it.
    const service = buildHeadlessService(sub, layout);
    const createJob = async (): Promise<void> => {
      if (service) await createIfAbsent(ctx, service, BuiltinKinds.Service);
      await createIfAbsent(ctx, buildRunJob(sub));
    };
    // The store Secret and the Job are sent together: the Secret is read by the kubelet only when
    // it starts the pod's first container, long after both writes are committed (the Job
    // controller, the scheduler and the pod sandbox come first). If the Secret's write fails, this
    // submit fails and its retry creates the Secret (the Job already exists: kept as is).
    await Promise.all([ensureDataPlaneObjects(sub, layout.jobName, ctx), createJob()]);
    return { ...handle, jobCreated: true };
  },

  stateAfterSubmit: (h) => (h.jobCreated ? starting(h) : undefined),

  async observe(sub, ctx) {
    const h = sub.handle;
    if (!h) return { state: "Lost", reason: "Lost", message: "no Local handle recorded for this attempt" };
    if (!h.jobCreated) return observeEnvironment(sub, ctx);
    return observeRunJob(sub, h, ctx, eventsRead);
  },

  async cancel(sub, ctx) {
    tails.forget(attemptKey(sub));
    if (!sub.handle) return;
    await ctx.kube.delete(BuiltinKinds.Job, { namespace: sub.run.metadata.namespace ?? "", name: sub.handle.jobName }, { propagation: "Background" });
  },

  /**
   * The attempt has ended (before a retry, and when the run finishes): stop ranks still placed (a
   * gang timeout leaves them running; a failed rank's Job stops them itself) and drop the Service.
   */
  async release(sub, ctx) {
    const h = sub.handle;
    if (!h) return { done: true };
    const namespace = sub.run.metadata.namespace ?? "";
    const job = ctx.kube.get<Job>(BuiltinKinds.Job, { namespace, name: h.jobName });
    if (job) await stopIfActive(ctx, job, sub);
    if (h.serviceName) await ctx.kube.delete(BuiltinKinds.Service, { namespace, name: h.serviceName });
    return { done: true };
  },

  async cleanup({ run, handle }, ctx) {
    if (handle?.serviceName) await ctx.kube.delete(BuiltinKinds.Service, { namespace: run.metadata.namespace ?? "", name: handle.serviceName });
    const jobs = ctx.kube.list<Job>(BuiltinKinds.Job, { namespace: run.metadata.namespace ?? "", labels: { [Labels.runUid]: run.metadata.uid ?? "" } });
    for (const job of jobs) {
      await ctx.kube.delete(BuiltinKinds.Job, { namespace: job.metadata.namespace ?? "", name: job.metadata.name ?? "" }, { propagation: "Background" });
    }
  },
});
