import { BuiltinKinds } from "../../kube/types.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import type { ComputeProvider } from "../types.js";
import { hostPathProblem, type LocalTargetsConfig } from "./host-path.js";
import { localSpecOf } from "./local-spec.js";

const RECHECK_MS = 5 * 60_000;

/**
 * Local targets own nothing outside the cluster: Ready once the objects they name exist and the
 * node directory they name (if any) is one the administrator allows.
 */
export const localComputeProvider = (config: LocalTargetsConfig): ComputeProvider => ({
  async ensure(target, ctx) {
    const local = localSpecOf(target);
    const namespace = target.metadata.namespace ?? "";
    const hostPath = local.environmentCache?.hostPath;
    const refused = hostPath !== undefined ? hostPathProblem(hostPath, config) : undefined;
    if (refused) {
      // Nothing to poll: only a spec change (which wakes the controller) or an operator restart with
      // another allow-list can change the verdict.
      return { ready: { status: "False", reason: TargetReason.HostPathNotAllowed, severity: "Error", message: refused } };
    }
    if (local.serviceAccountName) {
      const sa = await ctx.kube.read(BuiltinKinds.ServiceAccount, { namespace, name: local.serviceAccountName });
      if (!sa) {
        return {
          ready: { status: "False", reason: TargetReason.ServiceAccountNotFound, severity: "Warning", message: `ServiceAccount ${local.serviceAccountName} not found in namespace ${namespace}` },
          requeueAfterMs: 30_000,
        };
      }
    }
    const claimName = local.environmentCache?.claimName;
    if (claimName) {
      const pvc = await ctx.kube.read(BuiltinKinds.PersistentVolumeClaim, { namespace, name: claimName });
      if (!pvc) {
        return {
          ready: { status: "False", reason: TargetReason.InvalidSpec, severity: "Warning", message: `PersistentVolumeClaim ${claimName} (environmentCache.claimName) not found` },
          requeueAfterMs: 30_000,
        };
      }
    }
    return {
      ready: { status: "True", reason: TargetReason.Ready, message: `runs execute as Jobs in namespace ${namespace} with image ${local.image}` },
      requeueAfterMs: RECHECK_MS,
    };
  },
  async release() {
    return { done: true };
  },
});
