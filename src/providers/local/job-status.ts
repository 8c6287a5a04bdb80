import type { ObjectEvent } from "../../kube/client.js";
import type { KubeObject } from "../../kube/types.js";
import { COMPLETION_INDEX_ANNOTATION } from "./distribution.js";

/** The parts of batch/v1 Job and core/v1 Pod status the executor reads. */
export interface JobStatus {
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  active?: number;
  succeeded?: number;
  failed?: number;
  startTime?: string;
}
export type Job = KubeObject<unknown, JobStatus>;

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode: number; reason?: string; message?: string; finishedAt?: string };
}
interface PodCondition { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }
export interface PodStatus {
  phase?: string;
  conditions?: PodCondition[];
  containerStatuses?: { name: string; state?: ContainerState }[];
  initContainerStatuses?: { name: string; state?: ContainerState }[];
}
export type Pod = KubeObject<unknown, PodStatus>;

export const jobCondition = (job: Job, type: "Complete" | "Failed" | "SuccessCriteriaMet" | "FailureTarget"): boolean =>
  job.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;

export const jobFailureReason = (job: Job): string | undefined =>
  job.status?.conditions?.find((c) => (c.type === "Failed" || c.type === "FailureTarget") && c.status === "True")?.reason;

export const containerState = (pod: Pod, name: string, init = false): ContainerState | undefined =>
  (init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses)?.find((c) => c.name === name)?.state;

/** A container stuck before start (bad image, missing volume) says why here. */
export function waitingProblem(pod: Pod): string | undefined {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const stuck = all.find((c) => c.state?.waiting?.reason && c.state.waiting.reason !== "ContainerCreating" && c.state.waiting.reason !== "PodInitializing");
  return stuck ? `${stuck.name}: ${stuck.state?.waiting?.reason}${stuck.state?.waiting?.message ? ` (${stuck.state.waiting.message})` : ""}` : undefined;
}

/** The rank (completion index) of a pod of an Indexed Job; 0 for a plain Job's single pod. */
export const rankOf = (pod: Pod): number => Number(pod.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION] ?? 0);

/**
 * The rank that failed first: the earliest non-zero exit. The ranks the Job controller stops
 * afterwards exit later (143 on SIGTERM), so they never hide the cause.
 */
export function firstFailedPod(pods: readonly Pod[], container: string): Pod | undefined {
  const finished = (p: Pod) => Date.parse(containerState(p, container)?.terminated?.finishedAt ?? "") || Infinity;
  return pods
    .filter((p) => (containerState(p, container)?.terminated?.exitCode ?? 0) !== 0)
    .sort((a, b) => finished(a) - finished(b) || rankOf(a) - rankOf(b))[0];
}

/** The scheduler's verdict on a pod that is not placed yet (e.g. "0/1 nodes are available: ..."). */
export function unschedulable(pod: Pod): PodCondition | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === "PodScheduled");
  return c?.status === "False" && c.reason === "Unschedulable" ? c : undefined;
}

/**
 * Gang semantics: every rank must be placed within `boundSeconds` of its pod's creation (and every
 * rank's pod must exist within the bound of the Job's). Returns why the attempt must fail, or
 * undefined while it may still wait.
 */
export function gangTimeout(job: Job, pods: readonly Pod[], gang: { ranks: number; boundSeconds: number; now: Date }): string | undefined {
  const { ranks, boundSeconds, now } = gang;
  const overdue = (since: string | undefined) => since !== undefined && now.getTime() - Date.parse(since) >= boundSeconds * 1000;
  const stuck = pods
    .filter((p) => { const c = unschedulable(p); return c && overdue(c.lastTransitionTime ?? p.metadata.creationTimestamp); })
    .sort((a, b) => rankOf(a) - rankOf(b));
  if (stuck.length > 0) {
    const first = stuck[0]!;
    const which = stuck.map(rankOf).join(", ");
    return `rank${stuck.length > 1 ? "s" : ""} ${which} of ${ranks} not scheduled within ${boundSeconds}s (schedulingTimeoutSeconds): ${unschedulable(first)?.message ?? "unschedulable"}`;
  }
  const live = pods.filter((p) => !p.metadata.deletionTimestamp).length;
  if (live < ranks && overdue(job.metadata.creationTimestamp)) {
    return `only ${live} of ${ranks} ranks have pods ${boundSeconds}s after the Job was created (schedulingTimeoutSeconds); see the Job's events`;
  }
  return undefined;
}

/** A pod whose containers run (or ran): past scheduling, mounting and image pulls. */
const started = (pod: Pod): boolean =>
  (pod.status?.containerStatuses ?? []).some((c) => c.state?.running || c.state?.terminated) || pod.status?.phase === "Running";

/** Every pod exists and is placed on a node. */
const allScheduled = (pods: readonly Pod[], ranks: number): boolean =>
  pods.length >= ranks && pods.every((p) => p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True"));

/**
 * Why the attempt's pods are not running yet, in Kubernetes' words: a container's waiting state
 * (image, configuration), else the newest Warning Event about the Job or a pod (FailedCreate,
 * FailedScheduling, FailedMount…), else the scheduler's condition. A FailedScheduling Event is
 * stale once every pod is placed.
 */
export function notStartedBecause(pods: readonly Pod[], events: readonly ObjectEvent[], ranks: number): string | undefined {
  const waiting = pods.map(waitingProblem).find((p) => p);
  if (waiting) return waiting;
  const placed = allScheduled(pods, ranks);
  const event = events.find((e) => !(placed && e.reason === "FailedScheduling"));
  if (event) return `${event.reason}: ${event.message}`;
  const pending = pods.map((p) => unschedulable(p)?.message).find((m) => m);
  return pending ? `waiting to be scheduled: ${pending}` : undefined;
}

/**
 * Pods that exist and are placed but whose containers never started (a volume that cannot be
 * mounted, an image that cannot be pulled) `boundSeconds` after their creation, while Kubernetes
 * says why (`because`). Undefined while they may still start.
 */
export function startTimeout(pods: readonly Pod[], g: { ranks: number; boundSeconds: number; now: Date; because: string | undefined }): string | undefined {
  if (!g.because || !allScheduled(pods, g.ranks)) return undefined;
  const stuck = pods.filter((p) => !started(p) && g.now.getTime() - Date.parse(p.metadata.creationTimestamp ?? "") >= g.boundSeconds * 1000);
  if (stuck.length === 0) return undefined;
  return `rank${stuck.length > 1 ? "s" : ""} ${stuck.map(rankOf).sort((a, b) => a - b).join(", ")} of ${g.ranks} did not start within ${g.boundSeconds}s (schedulingTimeoutSeconds): ${g.because}`;
}
