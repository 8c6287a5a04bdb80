import {
  ConditionType, RunConfigReason, type ComputeTarget, type RunConfiguration, type RunConfigurationStatus,
} from "../../api/v1alpha1/index.js";
import { isTrue, setCondition } from "../../runtime/conditions.js";
import { environmentHash } from "./environment-hash.js";

type Verdict = { status: "True" | "False"; reason: string; message: string; severity?: "Error" | "Warning" };

/** Combinations a target type cannot run, found before any run is submitted. */
export function unsupportedOnTarget(config: RunConfiguration["spec"], type: ComputeTarget["spec"]["type"]): string | undefined {
  if (config.framework === "PySpark" && type !== "HDInsight" && type !== "Databricks" && type !== "Local") {
    return `framework PySpark needs a Spark target (HDInsight or Databricks), not ${type}`;
  }
  if (config.nodeCount > 1 && (type === "RemoteVM" || type === "HDInsight")) {
    return `nodeCount ${config.nodeCount} needs a multi-node target; ${type} runs on one machine`;
  }
  if (type === "Local" && config.docker?.arguments?.length) {
    return "docker.arguments are for RemoteVM targets; Local runs are pods (use resources and environmentVariables)";
  }
  return undefined;
}

function verdictFor(rc: RunConfiguration, target: ComputeTarget | undefined): Verdict {
  const name = rc.spec.computeTargetRef.name;
  if (!target) return { status: "False", reason: RunConfigReason.ComputeTargetNotFound, severity: "Warning", message: `ComputeTarget ${name} not found` };
  const unsupported = unsupportedOnTarget(rc.spec, target.spec.type);
  if (unsupported) return { status: "False", reason: RunConfigReason.UnsupportedOnTarget, severity: "Error", message: unsupported };
  if (!isTrue(target.status?.conditions, ConditionType.Ready)) {
    const why = target.status?.conditions?.find((c) => c.type === ConditionType.Ready);
    return { status: "False", reason: RunConfigReason.ComputeTargetNotReady, severity: "Warning", message: `ComputeTarget ${name} is not Ready${why ? `: ${why.reason}: ${why.message}` : ""}` };
  }
  return { status: "True", reason: RunConfigReason.Ready, message: `runs go to ${target.spec.type} target ${name}` };
}

/** The RunConfiguration status for the current spec and target (pure). */
export function decideRunConfigurationStatus(rc: RunConfiguration, target: ComputeTarget | undefined, now: Date): RunConfigurationStatus {
  const generation = rc.metadata.generation ?? 0;
  const v = verdictFor(rc, target);
  const conditions = setCondition(rc.status?.conditions, {
    type: ConditionType.Ready, status: v.status, reason: v.reason, message: v.message,
    ...(v.severity ? { severity: v.severity } : {}), observedGeneration: generation,
  }, now);
  return {
    observedGeneration: generation,
    conditions,
    environmentHash: environmentHash(rc.spec),
    ...(target ? { targetType: target.spec.type } : {}),
  };
}
