import type { ComputeResource } from "@azure/arm-machinelearning";
import type { AzureWorkspaceRef, ComputeTarget, HdInsightTargetSpec } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { AzureClients } from "../shared/azure/clients.js";
import { sameArmId } from "../shared/azure/arm-id.js";
import { deriveComputeName } from "../shared/azure/compute-names.js";
import { ComputeOps, readOperation, type ArmOperation } from "../shared/azure/compute-ops.js";
import type { ResolvedAzureMlConfig } from "../shared/azure/config.js";
import { classifyArmError } from "../shared/azure/errors.js";
import type { ProviderContext, TargetObservation } from "../types.js";

type Status = NonNullable<TargetObservation["status"]>;

/** Name of the attached compute in the workspace: the ComputeTarget's name when Azure ML accepts it, else one derived from it. */
export const attachedComputeName = (targetName: string): string => deriveComputeName(targetName, "attached");

/**
 * The PUT body of an attached HDInsight compute (ARM Compute, computeType HDInsight): the
 * cluster's resource id plus the head node's address and SSH port. No administratorAccount: the
 * operator keeps the SSH credentials in the Kubernetes Secret and never hands them to ARM.
 */
export function hdInsightComputeBody(target: ComputeTarget, spec: HdInsightTargetSpec & { resourceId: string }): ComputeResource {
  return {
    properties: {
      computeType: "HDInsight",
      resourceId: spec.resourceId,
      description: `Attached by aml-compute-operator (ComputeTarget ${target.metadata.namespace ?? "default"}/${target.metadata.name})`,
      properties: { address: spec.address, sshPort: spec.port },
    },
  } as ComputeResource;
}

/**
 * Registration of an HDInsight cluster as an attached compute in an Azure ML workspace, with the
 * AmlCompute provider's ARM machinery (ComputeOps: GET before PUT, LROs started or resumed from
 * status.operation with one request per call, classifyArmError, the per-subscription budget).
 * An existing compute of the same name is adopted when it points at the same cluster and left
 * untouched otherwise (AlreadyExists).
 */
export class HdInsightRegistration {
  constructor(private readonly clients: AzureClients, private readonly config: Pick<ResolvedAzureMlConfig, "operationPollMs" | "resyncMs">) {}

  private async opsFor(target: ComputeTarget, ws: AzureWorkspaceRef, ctx: ProviderContext): Promise<ComputeOps> {
    try {
      const arm = await this.clients.armFor(target, ctx, ws.subscriptionId);
      this.clients.budget.admit(ws.subscriptionId);
      return new ComputeOps(arm, ws.resourceGroup, ws.name);
    } catch (e) {
      throw classifyArmError(e, "ARM access");
    }
  }

  private inProgress(op: ArmOperation, message: string, extra: Status = {}): TargetObservation {
    return {
      ready: { status: "False", reason: op.kind === "delete" ? TargetReason.Deleting : TargetReason.Provisioning, message, severity: "Info" },
      status: { ...extra, operation: op as unknown as Record<string, unknown> },
      requeueAfterMs: this.config.operationPollMs,
    };
  }

  /** Ready=True once the workspace holds an attached HDInsight compute for spec.resourceId. */
  async ensure(target: ComputeTarget, spec: HdInsightTargetSpec, ctx: ProviderContext): Promise<TargetObservation> {
    const ws = spec.workspace;
    if (!ws) return { ready: { status: "True", reason: TargetReason.Attached, message: "no workspace" } };
    const resourceId = spec.resourceId;
    if (!resourceId) throw new TerminalError("hdInsight.resourceId (the cluster's ARM id) is required when hdInsight.workspace is set", TargetReason.InvalidSpec);
    const name = attachedComputeName(target.metadata.name ?? "");
    const where = `${ws.name}/${name}`;
    const ops = await this.opsFor(target, ws, ctx);

    const prior = readOperation(target.status);
    let cleared = false;
    let failedOp: string | undefined;
    if (prior && prior.computeName === name && prior.kind === "create") {
      const r = await ops.begin("create", name, ctx.now, { resumeFrom: prior.poller });
      if (!r.done) {
        return this.inProgress({ ...r.op, startedAt: prior.startedAt }, `registering HDInsight cluster as compute ${where} (operation started ${prior.startedAt})`, { provisioningState: "Creating" });
      }
      cleared = true;
      failedOp = r.failed;
    } else if (prior) {
      cleared = true; // a handle of another name or a detach: look at Azure afresh
    }
    const clear: Status = cleared ? { operation: undefined } : {};

    const compute = await ops.get(name);
    if (!compute) {
      if (failedOp) {
        return { ready: { status: "False", reason: TargetReason.ProvisioningFailed, severity: "Error", message: `registering ${where} failed: ${failedOp}` }, status: { ...clear, provisioningState: "Failed", resourceId: undefined } };
      }
      ctx.log.info({ compute: name, workspace: ws.name, cluster: resourceId }, "Attaching HDInsight cluster to the workspace");
      const r = await ops.begin("create", name, ctx.now, { body: hdInsightComputeBody(target, { ...spec, resourceId }) });
      if (r.done) return this.ensure({ ...target, status: { ...target.status, operation: undefined } }, spec, ctx);
      return this.inProgress(r.op, `registering HDInsight cluster ${resourceId.split("/").pop()} as compute ${where}`, { provisioningState: "Creating" });
    }

    const props = compute.properties;
    const state = props?.provisioningState;
    if (props?.computeType !== "HDInsight" || !sameArmId(props.resourceId, resourceId)) {
      return {
        ready: {
          status: "False", reason: TargetReason.AlreadyExists, severity: "Error",
          message: `a compute named ${name} already exists in workspace ${ws.name} (${props?.computeType ?? "unknown type"}${props?.resourceId ? ` for ${props.resourceId}` : ""}) and does not attach this cluster; it is left untouched. Rename the ComputeTarget or detach that compute`,
        },
        status: { ...clear, provisioningState: undefined, resourceId: undefined },
      };
    }
    const status: Status = {
      ...clear, provisioningState: state, resourceId: compute.id,
      provisioningErrors: (props.provisioningErrors ?? []).map((e) => ({ code: e.error?.code ?? "Unknown", message: e.error?.message ?? "" })).slice(0, 10),
    };
    if (state === "Succeeded") {
      return { ready: { status: "True", reason: TargetReason.Attached, message: `registered as attached compute ${where}` }, status, requeueAfterMs: this.config.resyncMs };
    }
    if (state === "Failed" || state === "Canceled") {
      const detail = (status.provisioningErrors ?? []).map((e) => `${e.code}: ${e.message}`).join("; ") || failedOp || state;
      return { ready: { status: "False", reason: TargetReason.ProvisioningFailed, severity: "Error", message: `attached compute ${where} is ${state}: ${detail}` }, status };
    }
    if (state === "Deleting") {
      return { ready: { status: "False", reason: TargetReason.Deleting, severity: "Warning", message: `attached compute ${where} is being detached in Azure` }, status, requeueAfterMs: this.config.operationPollMs };
    }
    // Creating/Updating by an operation we lost track of (or someone else's): watch, never re-PUT.
    return { ready: { status: "False", reason: TargetReason.Provisioning, severity: "Info", message: `attached compute ${where} is ${state}` }, status, requeueAfterMs: this.config.operationPollMs };
  }

  /**
   * DELETE ...?underlyingResourceAction=Detach, once (resumed from status.operation afterwards):
   * the cluster itself is never deleted. A compute of the name that attaches another cluster
   * (or is of another type) is not ours and is left alone.
   */
  async release(target: ComputeTarget, spec: HdInsightTargetSpec, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number; status?: TargetObservation["status"] }> {
    const ws = spec.workspace;
    if (!ws || !spec.resourceId) return { done: true };
    const name = attachedComputeName(target.metadata.name ?? "");
    const ops = await this.opsFor(target, ws, ctx);
    const resourceId = spec.resourceId;
    const owned = (c: ComputeResource): boolean => c.properties?.computeType === "HDInsight" && sameArmId(c.properties.resourceId, resourceId);
    const step = await ops.deleteOwned(name, ctx.now, { owned, prior: readOperation(target.status), underlyingResourceAction: "Detach" });
    if (step.done) return { done: true, status: { operation: undefined, provisioningState: undefined } };
    if (step.op) ctx.log.info({ compute: name, workspace: ws.name }, "Detaching HDInsight cluster from the workspace");
    return { done: false, requeueAfterMs: this.config.operationPollMs, status: { ...(step.op ? { operation: step.op as unknown as Record<string, unknown> } : {}), provisioningState: "Deleting" } };
  }
}
