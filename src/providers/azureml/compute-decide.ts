import type { ComputeResource } from "@azure/arm-machinelearning";
import { TargetReason, type AmlComputeTargetSpec, type Reason } from "../../api/v1alpha1/index.js";
import { sameArmId } from "../shared/azure/arm-id.js";
import { isoToSeconds, OWNER_UID_TAG, type ArmOperation, type ComputeParams } from "../shared/azure/compute-ops.js";
import type { TargetObservation } from "../types.js";

type Status = NonNullable<TargetObservation["status"]>;
type AmlProps = {
  vmSize?: string; vmPriority?: string; subnet?: { id?: string } | null;
  scaleSettings?: { maxNodeCount?: number; minNodeCount?: number; nodeIdleTimeBeforeScaleDown?: string };
  currentNodeCount?: number; targetNodeCount?: number;
  nodeStateCounts?: { idleNodeCount?: number; runningNodeCount?: number; preparingNodeCount?: number };
};

/** What AmlComputeProvider.ensure read (gather): the spec, the operation in status and Azure's compute. */
export interface AmlComputeWorld {
  readonly spec: AmlComputeTargetSpec;
  /** The compute's name in the workspace. */
  readonly name: string;
  /** Provision only: the body the spec asks for. */
  readonly params?: ComputeParams;
  /** The target's uid: the owner tag that makes a compute this target's own. */
  readonly uid?: string;
  /** The create/update recorded in status.operation, resumed by gather (one poll). */
  readonly resumed?: { readonly op: ArmOperation; readonly done: boolean; readonly failed?: string };
  /** status.operation held something that no longer applies (name or mode changed, a delete). */
  readonly staleOperation?: boolean;
  /** Azure's compute under that name; undefined when absent (or not read: an operation in flight). */
  readonly compute?: ComputeResource;
}

export interface AmlComputeTimings {
  /** Poll an operation in flight this often. */
  readonly operationPollMs: number;
  /** Re-check a settled compute this often. */
  readonly resyncMs: number;
}

/** The one ARM write ensure may make, or none. */
export type AmlComputeAction = { readonly kind: "None" } | { readonly kind: "Create" | "Update"; readonly params: ComputeParams };

export interface AmlComputePlan {
  readonly observation: TargetObservation;
  readonly action: AmlComputeAction;
}

/** Status fields Azure reports for a compute. */
export function observedStatus(c: ComputeResource): Status {
  const props = c.properties;
  const aml = (props as { properties?: AmlProps } | undefined)?.properties;
  const errors = (props?.provisioningErrors ?? [])
    .map((e) => ({ code: e.error?.code ?? "Unknown", message: e.error?.message ?? "" }))
    .slice(0, 10);
  return {
    provisioningState: props?.provisioningState,
    provisioningErrors: errors,
    resourceId: c.id,
    nodes: aml ? {
      current: aml.currentNodeCount,
      target: aml.targetNodeCount,
      idle: aml.nodeStateCounts?.idleNodeCount,
      running: aml.nodeStateCounts?.runningNodeCount,
      preparing: aml.nodeStateCounts?.preparingNodeCount,
    } : undefined,
  };
}

function failureReason(errors: readonly { code: string; message: string }[]): Reason {
  const text = errors.map((e) => `${e.code} ${e.message}`).join(" ");
  if (/quota/i.test(text)) return TargetReason.QuotaExceeded;
  if (/vm ?size|sku/i.test(text)) return TargetReason.InvalidVmSize;
  return TargetReason.ProvisioningFailed;
}

const none: AmlComputeAction = { kind: "None" };
const observe = (observation: TargetObservation): AmlComputePlan => ({ observation, action: none });
type Verdict = { reason: Reason; message: string; severity: "Error" | "Warning" | "Info" };
const notReady = ({ reason, message, severity }: Verdict, status: Status, requeueAfterMs?: number): AmlComputePlan =>
  observe({ ready: { status: "False", reason, message, severity }, status, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) });

/** What differs between the spec and a Succeeded compute: fields Azure cannot change, and scale drift. */
function compare(params: ComputeParams, compute: ComputeResource): { immutable: string[]; drift: boolean } {
  const aml = (compute.properties as { properties?: AmlProps } | undefined)?.properties ?? {};
  const immutable: string[] = [];
  if (aml.vmSize && aml.vmSize.toLowerCase() !== params.vmSize.toLowerCase()) immutable.push(`vmSize (Azure: ${aml.vmSize}, spec: ${params.vmSize})`);
  if (aml.vmPriority && aml.vmPriority !== params.vmPriority) immutable.push(`vmPriority (Azure: ${aml.vmPriority}, spec: ${params.vmPriority})`);
  if (!sameArmId(aml.subnet?.id, params.subnetId)) immutable.push(`subnetId (Azure: ${aml.subnet?.id ?? "none"}, spec: ${params.subnetId ?? "none"})`);
  const scale = aml.scaleSettings ?? {};
  const drift = (scale.minNodeCount ?? 0) !== params.minNodes || scale.maxNodeCount !== params.maxNodes
    || isoToSeconds(scale.nodeIdleTimeBeforeScaleDown) !== params.idleSecondsBeforeScaleDown;
  return { immutable, drift };
}

function decideAttach(w: AmlComputeWorld, compute: ComputeResource, status: Status, t: AmlComputeTimings): AmlComputePlan {
  const where = `${w.spec.workspace.name}/${w.name}`;
  const state = compute.properties?.provisioningState;
  if (compute.properties?.computeType !== "AmlCompute") {
    return notReady({ reason: TargetReason.InvalidSpec, message: `compute ${w.name} is of type ${compute.properties?.computeType}, not AmlCompute`, severity: "Error" }, status);
  }
  if (state === "Succeeded") {
    return observe({ ready: { status: "True", reason: TargetReason.Attached, message: `attached to existing AmlCompute ${where}` }, status, requeueAfterMs: t.resyncMs });
  }
  return notReady({ reason: TargetReason.Provisioning, message: `existing compute ${where} is ${state}`, severity: "Info" }, status, t.operationPollMs);
}

function decideOwned(w: AmlComputeWorld & { params: ComputeParams; compute: ComputeResource }, status: Status, t: AmlComputeTimings): AmlComputePlan {
  const { params, compute } = w;
  const where = `${w.spec.workspace.name}/${w.name}`;
  const state = compute.properties?.provisioningState;
  // An operation we lost track of (crash between PUT and status write): watch, never re-PUT.
  if (state === "Creating" || state === "Updating") return notReady({ reason: TargetReason.Provisioning, message: `AmlCompute ${where} is ${state}`, severity: "Info" }, status, t.operationPollMs);
  if (state === "Deleting") return notReady({ reason: TargetReason.Deleting, message: `AmlCompute ${where} is being deleted in Azure`, severity: "Warning" }, status, t.operationPollMs);
  if (state === "Failed" || state === "Canceled") {
    const errors = status.provisioningErrors ?? [];
    const detail = errors.map((e) => `${e.code}: ${e.message}`).join("; ") || w.resumed?.failed || `provisioning ${state}`;
    return notReady({ reason: failureReason(errors), message: `AmlCompute ${where} provisioning ${state}: ${detail}`, severity: "Error" }, status);
  }
  const { immutable, drift } = compare(params, compute);
  if (immutable.length) {
    return notReady({ reason: TargetReason.InvalidSpec, message: `cannot change ${immutable.join(", ")} of an existing AmlCompute; delete and recreate the ComputeTarget (or use a new computeName)`, severity: "Error" }, status);
  }
  if (drift) {
    const message = `updating scale settings of ${where} in place to ${params.minNodes}-${params.maxNodes} nodes, idle ${params.idleSecondsBeforeScaleDown}s`;
    return { observation: { ready: { status: "False", reason: TargetReason.Provisioning, message, severity: "Info" }, status: { ...status, provisioningState: "Updating" } }, action: { kind: "Update", params } };
  }
  return observe({
    ready: { status: "True", reason: TargetReason.Ready, message: `AmlCompute ${where} is ready (${status.nodes?.current ?? 0}/${params.maxNodes} nodes)` },
    status, requeueAfterMs: t.resyncMs,
  });
}

/**
 * The AmlCompute target's state machine as a pure function of what gather read. Provision: GET
 * before PUT, never overwrite a compute this target did not create unless spec.adopt; an operation
 * in flight is only watched. Attach: never writes.
 */
export function decideAmlCompute(w: AmlComputeWorld, t: AmlComputeTimings): AmlComputePlan {
  const where = `${w.spec.workspace.name}/${w.name}`;
  const clear: Status = w.resumed?.done || w.staleOperation ? { operation: undefined } : {};
  if (w.resumed && !w.resumed.done) {
    const creating = w.resumed.op.kind === "create";
    return notReady({ reason: TargetReason.Provisioning, message: `${creating ? "Creating" : "Updating"} AmlCompute ${where} (operation started ${w.resumed.op.startedAt})`, severity: "Info" }, { operation: w.resumed.op as unknown as Record<string, unknown>, provisioningState: creating ? "Creating" : "Updating" }, t.operationPollMs);
  }
  const compute = w.compute;
  if (!compute) {
    if (w.spec.mode === "Attach") {
      return notReady({ reason: TargetReason.ComputeNotFound, message: `compute ${w.name} does not exist in workspace ${w.spec.workspace.name}; mode Attach never creates it`, severity: "Warning" }, { ...clear, provisioningState: undefined, resourceId: undefined }, t.resyncMs);
    }
    if (w.resumed?.failed) return notReady({ reason: TargetReason.ProvisioningFailed, message: `creating ${where} failed: ${w.resumed.failed}`, severity: "Error" }, { ...clear, provisioningState: "Failed" });
    const params = w.params;
    if (!params) return notReady({ reason: TargetReason.InvalidSpec, message: "amlCompute.vmSize is required when mode is Provision", severity: "Error" }, clear);
    return {
      observation: { ready: { status: "False", reason: TargetReason.Provisioning, message: `creating AmlCompute ${where} (${params.vmSize}, ${params.minNodes}-${params.maxNodes} nodes)`, severity: "Info" }, status: { ...clear, provisioningState: "Creating" } },
      action: { kind: "Create", params },
    };
  }
  const status: Status = { ...clear, ...observedStatus(compute) };
  if (w.spec.mode === "Attach") return decideAttach(w, compute, status, t);
  const mine = compute.tags?.[OWNER_UID_TAG] !== undefined && compute.tags[OWNER_UID_TAG] === w.uid;
  if (!mine && !w.spec.adopt) {
    return notReady({ reason: TargetReason.AlreadyExists, message: `a compute named ${w.name} already exists in workspace ${w.spec.workspace.name} and was not created by this ComputeTarget; it is left untouched. Set amlCompute.adopt: true to manage it, or mode: Attach to use it as is`, severity: "Error" }, { ...clear, provisioningState: compute.properties?.provisioningState, resourceId: compute.id });
  }
  if (!w.params) return notReady({ reason: TargetReason.InvalidSpec, message: "amlCompute.vmSize is required when mode is Provision", severity: "Error" }, status);
  return decideOwned({ ...w, params: w.params, compute }, status, t);
}
