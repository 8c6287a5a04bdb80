import {
  ConditionType, RunConfigReason, type ComputeTarget, type RunConfiguration, type RunConfigurationStatus,
} from "../../api/v1alpha1/index.js";
import type { ValidationProblem } from "../../providers/types.js";
import { isTrue, setCondition } from "../../runtime/conditions.js";
import type { ErrorVerdict } from "../shared/error-condition.js";
import { environmentHash } from "./environment-hash.js";

type Verdict = { status: "True" | "False"; reason: string; message: string; severity?: "Error" | "Warning" };

/** What the controller gathered: the target, and its provider's verdict on the configuration. */
export interface RunConfigurationWorld {
  readonly target?: ComputeTarget;
  /** ProviderEntry.validate's answer; what a target type cannot run is the provider's to say. */
  readonly problem?: ValidationProblem;
  /** Gathering failed (the provider could not load...): shown until a retry succeeds. */
  readonly failure?: ErrorVerdict;
}

function verdictFor(rc: RunConfiguration, { target, problem, failure }: RunConfigurationWorld): Verdict {
  const name = rc.spec.computeTargetRef.name;
  if (failure) return { status: "False", reason: failure.reason, severity: failure.severity, message: failure.message };
  if (!target) return { status: "False", reason: RunConfigReason.ComputeTargetNotFound, severity: "Warning", message: `ComputeTarget ${name} not found` };
  if (problem) return { status: "False", reason: problem.reason, severity: "Error", message: problem.message };
  if (!isTrue(target.status?.conditions, ConditionType.Ready)) {
    const why = target.status?.conditions?.find((c) => c.type === ConditionType.Ready);
    return { status: "False", reason: RunConfigReason.ComputeTargetNotReady, severity: "Warning", message: `ComputeTarget ${name} is not Ready${why ? `: ${why.reason}: ${why.message}` : ""}` };
  }
  return { status: "True", reason: RunConfigReason.Ready, message: `runs go to ${target.spec.type} target ${name}` };
}

/** The RunConfiguration status for the current spec and target (pure). */
export function decideRunConfigurationStatus(rc: RunConfiguration, world: RunConfigurationWorld, now: Date): RunConfigurationStatus {
  const generation = rc.metadata.generation ?? 0;
  const target = world.target;
  const v = verdictFor(rc, world);
  const conditions = setCondition(rc.status?.conditions, {
    type: ConditionType.Ready, status: v.status, reason: v.reason, message: v.message,
    ...(v.severity ? { severity: v.severity } : {}), observedGeneration: generation,
  }, now);
  return {
    observedGeneration: generation,
    conditions,
    environmentHash: environmentHash(rc.spec, target),
    ...(target ? { targetType: target.spec.type } : {}),
  };
}
