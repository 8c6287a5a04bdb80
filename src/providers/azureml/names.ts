import type { AmlComputeTargetSpec, ComputeTarget, TrainingRun } from "../../api/v1alpha1/index.js";
import { deriveComputeName, letterHash } from "../shared/azure/compute-names.js";

/** The compute a target names: spec.computeName (the CRD checks it), else one derived from the target's name. */
export function amlComputeName(target: ComputeTarget, spec: Pick<AmlComputeTargetSpec, "computeName">): string {
  return spec.computeName ?? deriveComputeName(target.metadata.name ?? "", "cluster");
}

/**
 * Name of the temporary compute of a run-based run: "rb-" and 16 letters of the run UID's hash
 * (19 characters, stable per run). Letters, not hex: a hex part can be all digits, and Azure ML
 * refuses a name whose last "-" has no letter after it.
 */
export function runBasedComputeName(run: TrainingRun): string {
  return `rb-${letterHash(run.metadata.uid ?? `${run.metadata.namespace}/${run.metadata.name}`, 16)}`;
}
