import type { AzureMachineLearningWorkspaces, ComputeResource } from "@azure/arm-machinelearning";
import type { AmlComputeTargetSpec, ComputeTarget } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ComputeProvider, ProviderContext, TargetObservation } from "../types.js";
import type { AzureClients } from "../shared/azure/clients.js";
import type { ResolvedAzureMlConfig } from "../shared/azure/config.js";
import { classifyArmError } from "../shared/azure/errors.js";
import { ComputeOps, OWNER_TAG, OWNER_UID_TAG, readOperation, type ComputeParams } from "../shared/azure/compute-ops.js";
import { amlComputeName } from "./names.js";
import { decideAmlCompute, type AmlComputePlan, type AmlComputeWorld } from "./compute-decide.js";

export function targetParams(target: ComputeTarget, spec: AmlComputeTargetSpec): ComputeParams {
  if (!spec.vmSize) throw new TerminalError("amlCompute.vmSize is required when mode is Provision", TargetReason.InvalidSpec);
  return {
    computeName: amlComputeName(target, spec),
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
    return { ops: new ComputeOps(arm, spec.workspace.resourceGroup, spec.workspace.name), spec, name: amlComputeName(target, spec) };
  }

  /** Read-only: the spec, the operation recorded in status (resumed: one poll) and Azure's compute. */
  private async gather(target: ComputeTarget, { ops, spec, name }: { ops: ComputeOps; spec: AmlComputeTargetSpec; name: string }, now: Date): Promise<AmlComputeWorld> {
    const base = { spec, name, uid: target.metadata.uid, ...(spec.mode === "Provision" && spec.vmSize ? { params: targetParams(target, spec) } : {}) };
    const prior = readOperation(target.status);
    const resumable = prior && prior.computeName === name && prior.kind !== "delete" && spec.mode === "Provision";
    if (prior && !resumable) return { ...base, staleOperation: true, compute: await ops.get(name) };
    if (!prior) return { ...base, compute: await ops.get(name) };
    const r = await ops.begin(prior.kind, name, now, { ...(base.params ? { params: base.params } : {}), resumeFrom: prior.poller });
    const resumed = { op: { ...r.op, startedAt: prior.startedAt }, done: r.done, ...(r.failed ? { failed: r.failed } : {}) };
    return r.done ? { ...base, resumed, compute: await ops.get(name) } : { ...base, resumed };
  }

  /** The plan's one ARM write: start a create or an in-place update (not awaited; resumed from status). */
  private async act(plan: AmlComputePlan, ops: ComputeOps, ctx: ProviderContext): Promise<TargetObservation> {
    const { observation, action } = plan;
    if (action.kind === "None") return observation;
    const { params } = action;
    ctx.log.info({ compute: params.computeName, vmSize: params.vmSize, minNodes: params.minNodes, maxNodes: params.maxNodes }, action.kind === "Create" ? "Creating AmlCompute" : "Updating AmlCompute scale settings");
    const r = await ops.begin(action.kind === "Create" ? "create" : "update", params.computeName, ctx.now, { params });
    // Done at once: look again right away (the next reconcile GETs the result).
    if (r.done) return { ...observation, status: { ...observation.status, operation: undefined }, requeueAfterMs: 1 };
    return { ...observation, status: { ...observation.status, operation: r.op as unknown as Record<string, unknown> }, requeueAfterMs: this.config.operationPollMs };
  }

  async ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation> {
    const arm = await this.ops(target, ctx);
    const world = await this.gather(target, arm, ctx.now);
    return this.act(decideAmlCompute(world, this.config), arm.ops, ctx);
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
    const owned = (c: ComputeResource): boolean => spec.adopt || c.tags?.[OWNER_UID_TAG] === target.metadata.uid;
    const step = await ops.deleteOwned(name, ctx.now, { owned, prior: readOperation(target.status) });
    if (step.done) return { done: true, status: { operation: undefined } };
    if (step.op) ctx.log.info({ compute: name, workspace: spec.workspace.name }, "Deleting AmlCompute");
    return { done: false, requeueAfterMs: this.config.operationPollMs, status: { ...(step.op ? { operation: step.op as unknown as Record<string, unknown> } : {}), provisioningState: "Deleting" } };
  }
}
