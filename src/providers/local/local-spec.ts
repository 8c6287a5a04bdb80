import type { ComputeTarget, LocalTargetSpec, RunConfigurationSpec } from "../../api/v1alpha1/index.js";

/** The schema defaults apply only when spec.local is written; an omitted block means all defaults. */
export const LOCAL_DEFAULTS: LocalTargetSpec = {
  image: "localhost/aml-training:py3",
  imagePullPolicy: "IfNotPresent",
};

export const localSpecOf = (target: ComputeTarget): LocalTargetSpec => ({ ...LOCAL_DEFAULTS, ...target.spec.local });

/** The uid/gid run and build containers use: non-root, matching the restricted Pod Security profile. */
export const RUN_AS_UID = 1000;

/** The run's environment is built by the operator (a venv in the environment cache). */
export const isSystemManaged = (config: Pick<RunConfigurationSpec, "environment">): boolean =>
  config.environment?.systemManaged !== undefined;
