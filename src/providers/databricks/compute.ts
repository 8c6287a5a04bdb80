import type { ComputeTarget, Reason } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { reasonOr } from "../shared/reason.js";
import type { ComputeProvider, ProviderContext, TargetObservation } from "../types.js";
import { classifyDatabricksError, isDatabricksNotFound, type DatabricksApi } from "./api.js";
import type { ResolvedDatabricksConfig } from "./config.js";
import { databricksSpecOf, workspaceApi, type WorkspaceAccess } from "./workspace.js";

/**
 * Attach = verify access. A Databricks workspace is never created or deleted by the operator:
 * ensure proves the token works against the workspace (SCIM Me) and, when the target names an
 * existing cluster, that the cluster exists. Expected failures become Ready=False with their own
 * reason; only transient trouble (unreachable, throttled, 5xx) is thrown for a retry.
 */
export class DatabricksComputeProvider implements ComputeProvider {
  constructor(private readonly access: WorkspaceAccess, private readonly config: ResolvedDatabricksConfig) {}

  async ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation> {
    const spec = databricksSpecOf(target);
    const probed = { resourceId: spec.resourceId, lastProbeTime: ctx.now.toISOString() };
    try {
      const api = await workspaceApi(target, this.access, ctx);
      const me = await api.me().catch((e: unknown) => { throw classifyDatabricksError(e, `Databricks workspace ${spec.workspaceUrl}`); });
      const who = me.userName ?? me.displayName ?? "the token's user";
      const cluster = spec.existingClusterId ? await this.clusterState(api, spec.existingClusterId) : undefined;
      if (cluster === null) {
        return notReady(TargetReason.ComputeNotFound, `cluster ${spec.existingClusterId} does not exist in ${spec.workspaceUrl}`, probed);
      }
      const clusterNote = cluster ? `; cluster ${spec.existingClusterId} is ${cluster}` : "";
      return {
        ready: { status: "True", reason: TargetReason.Attached, message: `token of ${who} accepted by ${spec.workspaceUrl}${clusterNote}` },
        status: probed,
        requeueAfterMs: this.config.resyncMs,
      };
    } catch (e) {
      if (e instanceof TerminalError) return notReady(reasonOr(e, TargetReason.AzureError), e.message, probed);
      if (e instanceof TransientError && e.reason === TargetReason.Unreachable) {
        return { ready: { status: "False", reason: e.reason, message: e.message, severity: "Warning" }, status: probed, requeueAfterMs: e.retryAfterMs ?? 30_000 };
      }
      throw e;
    }
  }

  /** The cluster's state, or null when the workspace has no such cluster. */
  private async clusterState(api: DatabricksApi, clusterId: string): Promise<string | null> {
    try {
      return (await api.getCluster(clusterId)).state ?? "known";
    } catch (e) {
      if (isDatabricksNotFound(e)) return null;
      throw classifyDatabricksError(e, `cluster ${clusterId}`);
    }
  }

  /** Attached only: detaching touches nothing in the workspace. */
  async release(_target: ComputeTarget, _ctx: ProviderContext): Promise<{ done: boolean }> {
    return { done: true };
  }
}

function notReady(reason: Reason, message: string, status: TargetObservation["status"]): TargetObservation {
  return { ready: { status: "False", reason, message, severity: "Error" }, status };
}
