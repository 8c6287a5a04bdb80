import { Type, type Static } from "@sinclair/typebox";
import { cel, Conditions, LocalObjectRef, ObservedGeneration, Quantity, StringEnum, StringMap } from "./common.js";

const PackageList = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 500, description });

export const SystemManagedEnvironment = Type.Object({
  pythonVersion: Type.Optional(Type.String({
    pattern: "^3(\\.[0-9]+){0,2}$", maxLength: 16,
    description: "Python version for conda targets (e.g. 3.11). venv targets use the machine's python3 and report a mismatch.",
  })),
  channels: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 20, description: "conda channels, in priority order." })),
  condaPackages: Type.Optional(PackageList("conda packages (where the target has conda).")),
  pipPackages: Type.Optional(PackageList("pip requirement specifiers, e.g. numpy==2.1.0.")),
}, {
  description: "The operator builds this environment on the target once per content hash (shown in status) and reuses it while the package list is unchanged.",
});

export const UserManagedEnvironment = Type.Object({
  interpreterPath: Type.String({ default: "python3", maxLength: 1024, description: "Python interpreter to run the script with, as is." }),
}, { description: "An existing interpreter (or image): nothing is installed." });

export const Environment = Type.Object({
  systemManaged: Type.Optional(SystemManagedEnvironment),
  userManaged: Type.Optional(UserManagedEnvironment),
}, {
  description: "How the Python environment is set up. Default: user-managed python3.",
  ...cel({ rule: "!(has(self.systemManaged) && has(self.userManaged))", message: "environment is either systemManaged or userManaged, not both" }),
});

export const DockerSettings = Type.Object({
  enabled: Type.Boolean({ default: false, description: "Run inside a container (on Local: always true; on RemoteVM: needs a Docker engine on the VM)." }),
  baseImage: Type.Optional(Type.String({ maxLength: 512, description: "Image the run starts from." })),
  gpu: Type.Boolean({ default: false, description: "Expose GPUs to the container." }),
  shmSize: Type.Optional(Quantity({ description: "Shared memory size, e.g. 2g / 2Gi." })),
  arguments: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 50, description: "Extra `docker run` arguments (RemoteVM only)." })),
}, { description: "Container settings." });

export const ResourceSettings = Type.Object({
  cpu: Type.Optional(Quantity({ description: "CPU request and limit per process container, e.g. 500m." })),
  memory: Type.Optional(Quantity({ description: "Memory request and limit, e.g. 1Gi." })),
  gpu: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, description: "nvidia.com/gpu per node." })),
}, { description: "Resources for Local runs." });

export const RunConfigurationSpecFields = {
  computeTargetRef: LocalObjectRef("The ComputeTarget runs with this configuration go to."),
  environment: Type.Optional(Environment),
  docker: Type.Optional(DockerSettings),
  framework: StringEnum(["Python", "PySpark", "PyTorch", "TensorFlow", "MPI"] as const, {
    default: "Python", description: "Launcher: Python runs the script; PySpark uses spark-submit; PyTorch/TensorFlow/MPI set the distributed-training variables.",
  }),
  nodeCount: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: "Nodes (pods) the run uses; more than 1 becomes an Indexed Job on Local." }),
  processCountPerNode: Type.Integer({
    minimum: 1, maximum: 128, default: 1,
    description: "Processes per node (WORLD_SIZE = nodeCount × this). On Local a launcher in each pod starts one process per slot with its RANK and LOCAL_RANK; on AmlCompute it is the distribution's processCountPerInstance.",
  }),
  parameterServerCount: Type.Optional(Type.Integer({
    minimum: 0, maximum: 1000,
    description: "TensorFlow only: parameter-server tasks (AmlCompute's distribution.parameterServerCount). Local runs MultiWorkerMirroredStrategy workers and refuses parameter servers.",
  })),
  schedulingTimeoutSeconds: Type.Optional(Type.Integer({
    minimum: 1, maximum: 86400,
    description: "Local: an attempt that has not started this long fails, with Kubernetes' reason in the message: Unschedulable when a rank is not scheduled this long after its pod was created (the other ranks are stopped: gang scheduling), CannotStart when its pods cannot be created (FailedCreate) or their containers cannot start (FailedMount, image, configuration). Until then the run's condition says why it waits. Default 300.",
  })),
  // Map keys cannot carry a maxLength, so a CEL rule on them would have an unbounded cost: every
  // provider's validate() checks the names instead (src/providers/shared/validate.ts).
  environmentVariables: Type.Optional(StringMap({ maxProperties: 200, description: "Environment variables for the script; names are shell identifiers (letters, digits, _; not starting with a digit)." })),
  maxRunDurationSeconds: Type.Optional(Type.Integer({ minimum: 1, description: "Runs longer than this are stopped and fail with DeadlineExceeded." })),
  resources: Type.Optional(ResourceSettings),
};

export const RunConfigurationSpec = Type.Object(RunConfigurationSpecFields, {
  description: "How a run executes on a target.",
  ...cel({ rule: "!has(self.parameterServerCount) || self.parameterServerCount == 0 || self.framework == 'TensorFlow'", message: "parameterServerCount is for framework TensorFlow" }),
});

export const RunConfigurationStatus = Type.Object({
  observedGeneration: Type.Optional(ObservedGeneration),
  conditions: Type.Optional(Conditions),
  environmentHash: Type.Optional(Type.String({ description: "Content hash of the environment; runs reuse a built environment with the same hash." })),
  targetType: Type.Optional(Type.String({ description: "Type of the referenced ComputeTarget." })),
}, { description: "Observed state of the configuration." });

export type RunConfigurationSpec = Static<typeof RunConfigurationSpec>;
export type RunConfigurationStatus = Static<typeof RunConfigurationStatus>;
export type Environment = Static<typeof Environment>;
export type SystemManagedEnvironment = Static<typeof SystemManagedEnvironment>;
export type DockerSettings = Static<typeof DockerSettings>;
export type Framework = RunConfigurationSpec["framework"];
