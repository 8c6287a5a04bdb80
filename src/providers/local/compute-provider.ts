import { BuiltinKinds } from "../../kube/types.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import type { ComputeProvider } from "../types.js";
import { localSpecOf } from "./local-spec.js";

const RECHECK_MS = 5 * 60_000;

/** Local targets own nothing outside the cluster: Ready once the objects they name exist. */
export const localComputeProvider: ComputeProvider = {
  async ensure(target, ctx) {
    const local = localSpecOf(target);
    const namespace = target.metadata.namespace ?? "";
    if (local.serviceAccountName) {
      const sa = await ctx.kube.read(BuiltinKinds.ServiceAccount, { namespace, name: local.serviceAccountName });
      if (!sa) {
        return {
          ready: { status: "False", reason: TargetReason.ServiceAccountNotFound, severity: "Warning", message: `ServiceAccount ${local.serviceAccountName} not found in namespace ${namespace}` },
          requeueAfterMs: 30_000,
        };
      }
    }
    if (local.environmentCache.claimName) {
      const pvc = await ctx.kube.read(BuiltinKinds.PersistentVolumeClaim, { namespace, name: local.environmentCache.claimName });
      if (!pvc) {
        return {
          ready: { status: "False", reason: TargetReason.InvalidSpec, severity: "Warning", message: `PersistentVolumeClaim ${local.environmentCache.claimName} (environmentCache.claimName) not found` },
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
};
