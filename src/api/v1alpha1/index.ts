import type { KubeObject } from "../../kube/types.js";
import type { ComputeTargetSpec, ComputeTargetStatus } from "./compute-target.js";
import type { RunConfigurationSpec, RunConfigurationStatus } from "./run-configuration.js";
import type { TrainingRunSpec, TrainingRunStatus } from "./training-run.js";
import type { SweepSpec, SweepStatus } from "./sweep.js";

export * from "./group.js";
export * from "./common.js";
export * from "./conditions.js";
export * from "./compute-target.js";
export * from "./run-configuration.js";
export * from "./training-run.js";
export * from "./metrics.js";
export * from "./sweep.js";
export * from "./crds.js";

export type ComputeTarget = KubeObject<ComputeTargetSpec, ComputeTargetStatus> & { spec: ComputeTargetSpec };
export type RunConfiguration = KubeObject<RunConfigurationSpec, RunConfigurationStatus> & { spec: RunConfigurationSpec };
export type TrainingRun = KubeObject<TrainingRunSpec, TrainingRunStatus> & { spec: TrainingRunSpec };
export type Sweep = KubeObject<SweepSpec, SweepStatus> & { spec: SweepSpec };
