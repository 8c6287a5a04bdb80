import type { ComputeTarget, Reason } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import { reasonOr } from "../shared/reason.js";
import type { ComputeProvider, ProviderContext, TargetObservation } from "../types.js";
import { batchSpecOf, type BatchArm } from "./arm.js";
import type { ResolvedAzureBatchConfig } from "./config.js";

/**
 * Attach = verify through ARM that the Batch account exists (and the pool, when the target names
 * one) with the credentials the target resolves to. The operator never creates or deletes Batch
 * accounts or pools. Expected failures become Ready=False with their own reason; transient ones
 * (throttling, 5xx, network) are thrown for the queue to retry.
 */
export class BatchComputeProvider implements ComputeProvider {
  constructor(private readonly arm: BatchArm, private readonly config: ResolvedAzureBatchConfig) {}

  async ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation> {
    const spec = batchSpecOf(target);
    const lastProbeTime = ctx.now.toISOString();
    try {
      const client = await this.arm.client(target, ctx, spec.subscriptionId);
      const account = await this.arm.account(client, spec);
      if (!account) {
        return notReady(TargetReason.ComputeNotFound, `Batch account ${spec.accountName} not found in resource group ${spec.resourceGroup} of subscription ${spec.subscriptionId}`, { lastProbeTime });
      }
      const status: NonNullable<TargetObservation["status"]> = { resourceId: account.id, provisioningState: account.provisioningState, lastProbeTime };
      if (account.provisioningState && account.provisioningState !== "Succeeded") {
        return { ready: { status: "False", reason: TargetReason.Provisioning, message: `Batch account ${spec.accountName} is ${account.provisioningState}`, severity: "Info" }, status, requeueAfterMs: 30_000 };
      }
      if (!account.autoStorage?.storageAccountId) {
        return notReady(TargetReason.InvalidSpec, `Batch account ${spec.accountName} has no auto-storage account; link one (az batch account set --storage-account) so run snapshots can be delivered as resource files`, status);
      }
      let poolNote = "runs get an auto-pool each";
      if (spec.poolId) {
        const pool = await this.arm.pool(client, spec, spec.poolId);
        if (!pool) return notReady(TargetReason.ComputeNotFound, `pool ${spec.poolId} not found in Batch account ${spec.accountName}`, status);
        status.nodes = {
          current: (pool.currentDedicatedNodes ?? 0) + (pool.currentLowPriorityNodes ?? 0),
          target: (pool.scaleSettings?.fixedScale?.targetDedicatedNodes ?? 0) + (pool.scaleSettings?.fixedScale?.targetLowPriorityNodes ?? 0),
        };
        poolNote = `pool ${spec.poolId} (${pool.vmSize ?? "unknown size"}, ${pool.allocationState ?? "unknown"})`;
      }
      return {
        ready: { status: "True", reason: TargetReason.Attached, message: `Batch account ${spec.accountName} at ${account.accountEndpoint ?? "?"}; ${poolNote}` },
        status,
        requeueAfterMs: this.config.resyncMs,
      };
    } catch (e) {
      if (e instanceof TerminalError) return notReady(reasonOr(e, TargetReason.AzureError), e.message, { lastProbeTime });
      throw e;
    }
  }

  /** Attached only: nothing in the Batch account is deleted on detach. */
  async release(_target: ComputeTarget, _ctx: ProviderContext): Promise<{ done: boolean }> {
    return { done: true };
  }
}

function notReady(reason: Reason, message: string, status: TargetObservation["status"]): TargetObservation {
  return { ready: { status: "False", reason, message, severity: "Error" }, status };
}
