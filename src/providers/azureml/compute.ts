import type { AzureMachineLearningWorkspaces, ComputeResource } from "@azure/arm-machinelearning";
import type { AmlComputeTargetSpec, ComputeTarget, ComputeTargetStatus, Reason } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ComputeProvider, ProviderContext, TargetObservation } from "../types.js";
import type { AzureClients } from "./client.js";
import type { ResolvedAzureMlConfig } from "./config.js";
import { classifyArmError, isNotFound } from "./errors.js";

/** Tags the operator puts on computes it creates: how a later GET knows the compute is its own. */
export const OWNER_TAG = "amlcompute.dev/owner";
export const OWNER_UID_TAG = "amlcompute.dev/owner-uid";

/**
 * Resume handle of an ARM long-running operation, kept in ComputeTarget.status.operation (and in
 * run handles for run-based computes). `poller` is core-lro's serialized state (poller.toString()),
 * which `resumeFrom` accepts: a resumed poller polls the original operation and never re-sends the
 * PUT/PATCH/DELETE.
 */
export interface ArmOperation {
  readonly kind: "create" | "update" | "delete";
  readonly computeName: string;
  readonly startedAt: string;
  readonly poller: string;
}

export interface ComputeParams {
  readonly computeName: string;
  readonly location?: string;
  readonly vmSize: string;
  readonly vmPriority: "Dedicated" | "LowPriority";
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly idleSecondsBeforeScaleDown: number;
  readonly subnetId?: string;
  readonly tags: Record<string, string>;
  readonly description?: string;
}

type Status = NonNullable<TargetObservation["status"]>;
type AmlProps = {
  vmSize?: string; vmPriority?: string; subnet?: { id?: string } | null;
  scaleSettings?: { maxNodeCount?: number; minNodeCount?: number; nodeIdleTimeBeforeScaleDown?: string };
  currentNodeCount?: number; targetNodeCount?: number;
  nodeStateCounts?: { idleNodeCount?: number; runningNodeCount?: number; preparingNodeCount?: number };
};

export const secondsToIso = (s: number): string => `PT${Math.max(0, Math.floor(s))}S`;
export function isoToSeconds(d: string | undefined): number | undefined {
  if (!d) return undefined;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d);
  if (!m) return undefined;
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0);
}

export function computeBody(p: ComputeParams): ComputeResource {
  return {
    ...(p.location ? { location: p.location } : {}),
    tags: p.tags,
    properties: {
      computeType: "AmlCompute",
      ...(p.description ? { description: p.description } : {}),
      properties: {
        vmSize: p.vmSize,
        vmPriority: p.vmPriority,
        osType: "Linux",
        scaleSettings: {
          minNodeCount: p.minNodes,
          maxNodeCount: p.maxNodes,
          nodeIdleTimeBeforeScaleDown: secondsToIso(p.idleSecondsBeforeScaleDown),
        },
        ...(p.subnetId ? { subnet: { id: p.subnetId } } : {}),
      },
    },
  } as ComputeResource;
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

type Poller = { isDone(): boolean; toString(): string; getResult(): unknown };

export interface BeginOptions {
  readonly params?: ComputeParams;
  /** The full PUT body of a create; default: the AmlCompute body of `params`. */
  readonly body?: ComputeResource;
  readonly resumeFrom?: string;
  /** For delete: Delete the underlying resource (default) or Detach it (attached computes). */
  readonly underlyingResourceAction?: "Delete" | "Detach";
}

/**
 * ARM operations on one compute: GET, start or resume create/update/delete. Each call sends at
 * most one ARM request for the operation (begin* polls once; a resumed poller polls once).
 */
export class ComputeOps {
  constructor(readonly arm: AzureMachineLearningWorkspaces, readonly rg: string, readonly ws: string) {}

  async get(name: string): Promise<ComputeResource | undefined> {
    try {
      return await this.arm.computeOperations.get(this.rg, this.ws, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw classifyArmError(e, `GET compute ${name}`);
    }
  }

  /**
   * `body` replaces the AmlCompute body built from `params` for a create (e.g. an attached
   * compute); `underlyingResourceAction` is Delete unless said otherwise (Detach for attached
   * computes).
   */
  async begin(kind: ArmOperation["kind"], name: string, now: Date, { params, body, resumeFrom, underlyingResourceAction = "Delete" }: BeginOptions = {}): Promise<{ done: boolean; op: ArmOperation; failed?: string }> {
    let poller: Poller;
    const opts = resumeFrom ? { resumeFrom } : {};
    try {
      if (kind === "create") {
        poller = await this.arm.computeOperations.beginCreateOrUpdate(this.rg, this.ws, name, body ?? (params ? computeBody(params) : {}), opts);
      } else if (kind === "update") {
        const scale = params ? computeBody(params).properties as { properties: { scaleSettings: unknown } } : undefined;
        poller = await this.arm.computeOperations.beginUpdate(this.rg, this.ws, name, { properties: { scaleSettings: scale?.properties.scaleSettings as never } }, opts);
      } else {
        poller = await this.arm.computeOperations.beginDelete(this.rg, this.ws, name, underlyingResourceAction, opts);
      }
    } catch (e) {
      // core-lro reports a terminal Failed/Canceled operation by throwing a plain Error.
      if (resumeFrom && !isRestErrorLike(e) && /long.?running operation|operation (has )?failed|canceled|cancelled|failed/i.test(String((e as Error).message))) {
        return { done: true, op: { kind, computeName: name, startedAt: now.toISOString(), poller: resumeFrom }, failed: (e as Error).message };
      }
      if (kind === "delete" && isNotFound(e)) return { done: true, op: { kind, computeName: name, startedAt: now.toISOString(), poller: resumeFrom ?? "" } };
      throw classifyArmError(e, `${kind} compute ${name}`);
    }
    return { done: poller.isDone(), op: { kind, computeName: name, startedAt: now.toISOString(), poller: poller.toString() } };
  }
}

function isRestErrorLike(e: unknown): boolean {
  return typeof e === "object" && e !== null && "statusCode" in e && typeof (e as { statusCode?: unknown }).statusCode === "number";
}

/** The ARM operation handle kept in status.operation, if it is one. */
export function readOperation(status: ComputeTargetStatus | undefined): ArmOperation | undefined {
  const op = status?.operation as Partial<ArmOperation> | undefined;
  if (!op || typeof op.poller !== "string" || !op.kind || !op.computeName) return undefined;
  return op as ArmOperation;
}

export function targetParams(target: ComputeTarget, spec: AmlComputeTargetSpec): ComputeParams {
  if (!spec.vmSize) throw new TerminalError("amlCompute.vmSize is required when mode is Provision", TargetReason.InvalidSpec);
  return {
    computeName: spec.computeName ?? target.metadata.name ?? "",
    location: spec.location,
    vmSize: spec.vmSize,
    vmPriority: spec.vmPriority,
    minNodes: spec.minNodes,
    maxNodes: spec.maxNodes,
    idleSecondsBeforeScaleDown: spec.idleSecondsBeforeScaleDown,
    subnetId: spec.subnetId,
    tags: { [OWNER_TAG]: `${target.metadata.namespace ?? "default"}.${target.metadata.name}`, [OWNER_UID_TAG]: target.metadata.uid ?? "" },
    description: `Managed by aml-compute-operator (ComputeTarget ${target.metadata.namespace ?? "default"}/${target.metadata.name})`,
  };
}

/**
 * type: AmlCompute. Provision: GET before PUT, never overwrite a compute this target did not create
 * unless spec.adopt; create/update/delete run as ARM LROs whose poller state lives in
 * status.operation and is resumed (one poll per call) on the next reconcile. Attach: GET only.
 */
export class AmlComputeProvider implements ComputeProvider {
  constructor(private readonly clients: AzureClients, private readonly config: ResolvedAzureMlConfig) {}

  private async ops(target: ComputeTarget, ctx: ProviderContext): Promise<{ ops: ComputeOps; spec: AmlComputeTargetSpec; name: string }> {
    const spec = target.spec.amlCompute;
    if (!spec) throw new TerminalError("spec.amlCompute is required when type is AmlCompute", TargetReason.InvalidSpec);
    let arm: AzureMachineLearningWorkspaces;
    try {
      arm = await this.clients.armFor(target, ctx, spec.workspace.subscriptionId);
      this.clients.budget.admit(spec.workspace.subscriptionId);
    } catch (e) {
      throw classifyArmError(e, "ARM access");
    }
    return { ops: new ComputeOps(arm, spec.workspace.resourceGroup, spec.workspace.name), spec, name: spec.computeName ?? target.metadata.name ?? "" };
  }

  private inProgress(op: ArmOperation, message: string, extra: Status = {}): TargetObservation {
    const reason = op.kind === "delete" ? TargetReason.Deleting : TargetReason.Provisioning;
    return {
      ready: { status: "False", reason, message, severity: "Info" },
      status: { ...extra, operation: op as unknown as Record<string, unknown> },
      requeueAfterMs: this.config.operationPollMs,
    };
  }

  async ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation> {
    const { ops, spec, name } = await this.ops(target, ctx);
    const where = `${spec.workspace.name}/${name}`;
    const prior = readOperation(target.status);
    let cleared = false;
    let failedOp: string | undefined;

    if (prior && prior.computeName === name && prior.kind !== "delete" && spec.mode === "Provision") {
      const params = targetParams(target, spec);
      const r = await ops.begin(prior.kind, name, ctx.now, { params, resumeFrom: prior.poller });
      if (!r.done) {
        return this.inProgress({ ...r.op, startedAt: prior.startedAt },
          `${prior.kind === "create" ? "Creating" : "Updating"} AmlCompute ${where} (operation started ${prior.startedAt})`, { provisioningState: prior.kind === "create" ? "Creating" : "Updating" });
      }
      cleared = true;
      failedOp = r.failed;
    } else if (prior) {
      cleared = true; // stale handle (name or mode changed): drop it, look at Azure afresh
    }
    const clear: Status = cleared ? { operation: undefined } : {};

    const compute = await ops.get(name);
    if (!compute) {
      if (spec.mode === "Attach") {
        return {
          ready: { status: "False", reason: "ComputeNotFound", message: `compute ${name} does not exist in workspace ${spec.workspace.name}; mode Attach never creates it`, severity: "Warning" },
          status: { ...clear, provisioningState: undefined, resourceId: undefined },
          requeueAfterMs: this.config.resyncMs,
        };
      }
      if (failedOp) {
        return {
          ready: { status: "False", reason: TargetReason.ProvisioningFailed, message: `creating ${where} failed: ${failedOp}`, severity: "Error" },
          status: { ...clear, provisioningState: "Failed" },
        };
      }
      const params = targetParams(target, spec);
      ctx.log.info({ compute: name, workspace: spec.workspace.name, vmSize: params.vmSize }, "Creating AmlCompute");
      const r = await ops.begin("create", name, ctx.now, { params });
      if (r.done) return this.ensure({ ...target, status: { ...target.status, operation: undefined } }, ctx);
      return this.inProgress(r.op, `creating AmlCompute ${where} (${params.vmSize}, ${params.minNodes}-${params.maxNodes} nodes)`, { provisioningState: "Creating" });
    }

    const observed = observedStatus(compute);
    const status: Status = { ...clear, ...observed };
    const state = compute.properties?.provisioningState;
    const ownUid = compute.tags?.[OWNER_UID_TAG];
    const mine = ownUid !== undefined && ownUid === target.metadata.uid;

    if (spec.mode === "Attach") {
      if (compute.properties?.computeType !== "AmlCompute") {
        return { ready: { status: "False", reason: TargetReason.InvalidSpec, message: `compute ${name} is of type ${compute.properties?.computeType}, not AmlCompute`, severity: "Error" }, status };
      }
      if (state === "Succeeded") {
        return { ready: { status: "True", reason: TargetReason.Attached, message: `attached to existing AmlCompute ${where}` }, status, requeueAfterMs: this.config.resyncMs };
      }
      return { ready: { status: "False", reason: TargetReason.Provisioning, message: `existing compute ${where} is ${state}`, severity: "Info" }, status, requeueAfterMs: this.config.operationPollMs };
    }

    if (!mine && !spec.adopt) {
      return {
        ready: {
          status: "False", reason: "AlreadyExists", severity: "Error",
          message: `a compute named ${name} already exists in workspace ${spec.workspace.name} and was not created by this ComputeTarget; it is left untouched. Set amlCompute.adopt: true to manage it, or mode: Attach to use it as is`,
        },
        status: { ...clear, provisioningState: state, resourceId: compute.id },
      };
    }

    if (state === "Creating" || state === "Updating") {
      // An operation we lost track of (crash between PUT and status write): watch, never re-PUT.
      return { ready: { status: "False", reason: TargetReason.Provisioning, message: `AmlCompute ${where} is ${state}`, severity: "Info" }, status, requeueAfterMs: this.config.operationPollMs };
    }
    if (state === "Deleting") {
      return { ready: { status: "False", reason: TargetReason.Deleting, message: `AmlCompute ${where} is being deleted in Azure`, severity: "Warning" }, status, requeueAfterMs: this.config.operationPollMs };
    }
    if (state === "Failed" || state === "Canceled") {
      const errors = observed.provisioningErrors ?? [];
      const detail = errors.map((e) => `${e.code}: ${e.message}`).join("; ") || failedOp || `provisioning ${state}`;
      return { ready: { status: "False", reason: failureReason(errors), message: `AmlCompute ${where} provisioning ${state}: ${detail}`, severity: "Error" }, status };
    }

    // Succeeded: compare the spec with what Azure has.
    const params = targetParams(target, spec);
    const aml = (compute.properties as { properties?: AmlProps } | undefined)?.properties ?? {};
    const immutable: string[] = [];
    if (aml.vmSize && aml.vmSize.toLowerCase() !== params.vmSize.toLowerCase()) immutable.push(`vmSize (Azure: ${aml.vmSize}, spec: ${params.vmSize})`);
    if (aml.vmPriority && aml.vmPriority !== params.vmPriority) immutable.push(`vmPriority (Azure: ${aml.vmPriority}, spec: ${params.vmPriority})`);
    if ((aml.subnet?.id ?? undefined) !== params.subnetId && (aml.subnet?.id || params.subnetId)) immutable.push("subnetId");
    if (immutable.length) {
      return {
        ready: { status: "False", reason: TargetReason.InvalidSpec, severity: "Error", message: `cannot change ${immutable.join(", ")} of an existing AmlCompute; delete and recreate the ComputeTarget (or use a new computeName)` },
        status,
      };
    }
    const scale = aml.scaleSettings ?? {};
    const drift = (scale.minNodeCount ?? 0) !== params.minNodes || scale.maxNodeCount !== params.maxNodes
      || isoToSeconds(scale.nodeIdleTimeBeforeScaleDown) !== params.idleSecondsBeforeScaleDown;
    if (drift) {
      ctx.log.info({ compute: name, minNodes: params.minNodes, maxNodes: params.maxNodes }, "Updating AmlCompute scale settings");
      const r = await ops.begin("update", name, ctx.now, { params });
      const msg = `updating scale settings of ${where} in place to ${params.minNodes}-${params.maxNodes} nodes, idle ${params.idleSecondsBeforeScaleDown}s`;
      if (!r.done) return this.inProgress(r.op, msg, { ...observed, provisioningState: "Updating" });
      return { ready: { status: "False", reason: TargetReason.Provisioning, message: msg, severity: "Info" }, status, requeueAfterMs: 1 };
    }
    return {
      ready: { status: "True", reason: TargetReason.Ready, message: `AmlCompute ${where} is ready (${observed.nodes?.current ?? 0}/${params.maxNodes} nodes)` },
      status,
      requeueAfterMs: this.config.resyncMs,
    };
  }

  /**
   * Provision + deletionPolicy Delete → DELETE ...?underlyingResourceAction=Delete, once (resumed
   * from status.operation afterwards). Everything else changes nothing in Azure:
   * - Attach: the AmlCompute is somebody else's; in ARM terms it is not an "attached compute"
   *   (Detach is only valid for attached VMs/HDInsight/Databricks), so forgetting it is the detach.
   * - Provision + Detach: the cluster is orphaned (left running, unmanaged, still costing money).
   * - A compute this target neither created nor adopted is never deleted.
   */
  async release(target: ComputeTarget, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number; status?: TargetObservation["status"] }> {
    const spec = target.spec.amlCompute;
    if (!spec || spec.mode === "Attach" || target.spec.deletionPolicy === "Detach") return { done: true };
    const { ops, name } = await this.ops(target, ctx);
    const prior = readOperation(target.status);
    if (prior?.kind === "delete" && prior.computeName === name && prior.poller) {
      const r = await ops.begin("delete", name, ctx.now, { resumeFrom: prior.poller });
      if (!r.done) return { done: false, requeueAfterMs: this.config.operationPollMs, status: { operation: { ...r.op, startedAt: prior.startedAt }, provisioningState: "Deleting" } };
      if (!r.failed) return { done: true, status: { operation: undefined, provisioningState: undefined } };
    }
    const compute = await ops.get(name);
    if (!compute) return { done: true, status: { operation: undefined } };
    const mine = compute.tags?.[OWNER_UID_TAG] === target.metadata.uid;
    if (!mine && !spec.adopt) return { done: true, status: { operation: undefined } };
    if (compute.properties?.provisioningState === "Deleting") {
      return { done: false, requeueAfterMs: this.config.operationPollMs, status: { provisioningState: "Deleting" } };
    }
    ctx.log.info({ compute: name, workspace: spec.workspace.name }, "Deleting AmlCompute");
    const r = await ops.begin("delete", name, ctx.now);
    if (r.done) return { done: true, status: { operation: undefined } };
    return { done: false, requeueAfterMs: this.config.operationPollMs, status: { operation: r.op as unknown as Record<string, unknown>, provisioningState: "Deleting" } };
  }
}
