import type { TSchema } from "@sinclair/typebox";
import { CATEGORY, GROUP, VERSION } from "./group.js";
import { ComputeTargetSpec, ComputeTargetStatus } from "./compute-target.js";
import { RunConfigurationSpec, RunConfigurationStatus } from "./run-configuration.js";
import { TrainingRunSpec, TrainingRunStatus } from "./training-run.js";
import { SweepSpec, SweepStatus } from "./sweep.js";
import type { ResourceKind } from "../../kube/types.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** Everything scripts/gen-crds.ts needs to write one CustomResourceDefinition. */
export interface CrdDescriptor {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  printerColumns: PrinterColumn[];
}

const readyColumns = (): PrinterColumn[] => [
  { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
];
const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

export const ComputeTargetCrd: CrdDescriptor = {
  kind: "ComputeTarget", plural: "computetargets", singular: "computetarget", shortNames: ["amlct"],
  description: "A place where training runs execute: pods in this cluster, an Azure ML cluster, an SSH machine, Spark, Batch or Databricks.",
  spec: ComputeTargetSpec, status: ComputeTargetStatus,
  printerColumns: [
    { name: "Type", type: "string", jsonPath: ".spec.type" },
    ...readyColumns(),
    { name: "State", type: "string", jsonPath: ".status.provisioningState", priority: 1 },
    { name: "Nodes", type: "integer", jsonPath: ".status.nodes.current", priority: 1 },
    { name: "Running", type: "integer", jsonPath: ".status.runningRuns" },
    age,
  ],
};

export const RunConfigurationCrd: CrdDescriptor = {
  kind: "RunConfiguration", plural: "runconfigurations", singular: "runconfiguration", shortNames: ["amlrc"],
  description: "How a run executes on a target: environment, container, framework, nodes, variables.",
  spec: RunConfigurationSpec, status: RunConfigurationStatus,
  printerColumns: [
    { name: "Target", type: "string", jsonPath: ".spec.computeTargetRef.name" },
    { name: "Framework", type: "string", jsonPath: ".spec.framework" },
    ...readyColumns(),
    { name: "Env-Hash", type: "string", jsonPath: ".status.environmentHash", priority: 1 },
    age,
  ],
};

export const TrainingRunCrd: CrdDescriptor = {
  kind: "TrainingRun", plural: "trainingruns", singular: "trainingrun", shortNames: ["amlrun"],
  description: "One submission of a training script to a compute target, watched to completion.",
  spec: TrainingRunSpec, status: TrainingRunStatus,
  printerColumns: [
    { name: "Target", type: "string", jsonPath: ".status.target" },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Exit", type: "integer", jsonPath: ".status.exitCode" },
    { name: "Attempts", type: "integer", jsonPath: ".status.attempts", priority: 1 },
    { name: "Duration", type: "string", jsonPath: ".status.duration" },
    { name: "Metric", type: "string", jsonPath: ".status.metrics.primary" },
    { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Succeeded")].reason', priority: 1 },
    age,
  ],
};

export const SweepCrd: CrdDescriptor = {
  kind: "Sweep", plural: "sweeps", singular: "sweep", shortNames: ["amlsweep"],
  description: "A hyperparameter sweep whose trials are TrainingRuns on any compute target.",
  spec: SweepSpec, status: SweepStatus,
  printerColumns: [
    { name: "Algorithm", type: "string", jsonPath: ".spec.samplingAlgorithm" },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Trials", type: "integer", jsonPath: ".status.trialCounts.total" },
    { name: "Running", type: "integer", jsonPath: ".status.trialCounts.running" },
    { name: "Completed", type: "integer", jsonPath: ".status.trialCounts.completed", priority: 1 },
    { name: "Metric", type: "string", jsonPath: ".spec.primaryMetric.name" },
    { name: "Best", type: "number", jsonPath: ".status.bestTrial.metric" },
    { name: "Best-Trial", type: "string", jsonPath: ".status.bestTrial.name", priority: 1 },
    { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Succeeded")].reason', priority: 1 },
    age,
  ],
};

export const ALL_CRDS = [ComputeTargetCrd, RunConfigurationCrd, TrainingRunCrd, SweepCrd] as const;

const kindOf = (crd: CrdDescriptor): ResourceKind => ({
  group: GROUP, version: VERSION, kind: crd.kind, plural: crd.plural, namespaced: true,
});

/** Where each custom kind lives, for the kube client. */
export const Kinds = {
  ComputeTarget: kindOf(ComputeTargetCrd),
  RunConfiguration: kindOf(RunConfigurationCrd),
  TrainingRun: kindOf(TrainingRunCrd),
  Sweep: kindOf(SweepCrd),
} as const;

export { CATEGORY };
