import {
  ConditionType, TargetReason, type ComputeTarget, type ComputeTargetStatus,
} from "../../api/v1alpha1/index.js";
import { setCondition } from "../../runtime/conditions.js";
import type { TargetObservation } from "../../providers/types.js";

/** The status a target should have after its provider reported `obs` (pure). */
export function decideTargetStatus(target: ComputeTarget, obs: TargetObservation, now: Date): ComputeTargetStatus {
  const generation = target.metadata.generation ?? 0;
  const previous = target.status ?? {};
  const conditions = setCondition(previous.conditions, {
    type: ConditionType.Ready,
    status: obs.ready.status,
    reason: obs.ready.reason,
    message: obs.ready.message,
    ...(obs.ready.status === "True" ? {} : { severity: obs.ready.severity ?? "Warning" }),
    observedGeneration: generation,
  }, now);
  return { ...previous, ...obs.status, conditions, observedGeneration: generation };
}

/** Ready=False because no provider handles this type in this operator build. */
export const providerNotAvailable = (type: string): TargetObservation => ({
  ready: {
    status: "False", reason: TargetReason.ProviderNotAvailable, severity: "Error",
    message: `this operator has no provider for ComputeTarget type ${type} yet; runs aimed at it wait in Queued`,
  },
});
