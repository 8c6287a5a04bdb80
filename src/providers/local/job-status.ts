import type { KubeObject } from "../../kube/types.js";

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
  terminated?: { exitCode: number; reason?: string; message?: string };
}
export interface PodStatus {
  phase?: string;
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
