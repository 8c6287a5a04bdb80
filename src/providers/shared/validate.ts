import { RunConfigReason, type ComputeTarget, type RunConfigurationSpec } from "../../api/v1alpha1/index.js";
import type { ValidationProblem } from "../types.js";

/** A combination the target type cannot run: the reason every provider's validate() uses for it. */
export const unsupported = (message: string): ValidationProblem => ({ reason: RunConfigReason.UnsupportedOnTarget, message });

type Rule = (config: RunConfigurationSpec, target: ComputeTarget) => string | undefined;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What no target can run: checked by every provider before its own rules. */
function commonProblem(config: RunConfigurationSpec): ValidationProblem | undefined {
  const bad = Object.keys(config.environmentVariables ?? {}).filter((name) => !ENV_NAME.test(name));
  if (bad.length === 0) return undefined;
  return {
    reason: RunConfigReason.InvalidSpec,
    message: `environment variable names must match [A-Za-z_][A-Za-z0-9_]* (every target passes them to a shell or a container): ${bad.map((n) => JSON.stringify(n)).join(", ")}`,
  };
}

/** The common checks, then the first of the provider's rules that objects, as a ValidationProblem. */
export const firstProblem = (...rules: Rule[]) => (config: RunConfigurationSpec, target: ComputeTarget): ValidationProblem | undefined => {
  const common = commonProblem(config);
  if (common) return common;
  for (const rule of rules) {
    const message = rule(config, target);
    if (message) return unsupported(message);
  }
  return undefined;
};

/** Rules several target types share. */
export const Rules = {
  noPySpark: ((config, target) => config.framework === "PySpark"
    ? `framework PySpark needs a Spark target (HDInsight, Databricks or Local), not ${target.spec.type}` : undefined) as Rule,
  singleNode: ((config, target) => config.nodeCount > 1
    ? `nodeCount ${config.nodeCount} needs a multi-node target; ${target.spec.type} runs on one machine` : undefined) as Rule,
};
