import { Type, type Static, type TSchema } from "@sinclair/typebox";
import {
  cel, Conditions, exactlyOneOf, FreeFormObject, LocalObjectRef, ObservedGeneration, StringEnum,
} from "./common.js";
import { RunMetrics } from "./metrics.js";
import { RunConfigurationSpecFields, type RunConfigurationSpec } from "./run-configuration.js";

/** Largest inline source (a TrainingRun object must stay well under etcd's limit). */
export const MAX_CONFIGMAP_SOURCE_BYTES = 900 * 1024;

export const SourceFile = Type.Object({
  path: Type.String({
    minLength: 1, maxLength: 512, pattern: "^[^/].*$",
    description: "Relative path of the file in the snapshot, e.g. src/model.py.",
    ...cel({ rule: "!self.split('/').exists(s, s == '..' || s == '')", message: "path must be relative, without '..' or empty segments" }),
  }),
  content: Type.String({ maxLength: 1048576, description: "File content (UTF-8 text)." }),
  mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 511, description: "File mode, e.g. 493 (0755) for executables." })),
}, { description: "One file of an inline source." });

export const SNAPSHOT_DIGEST_PATTERN = "^sha256:[0-9a-f]{64}$";

export const Source = Type.Object({
  inline: Type.Optional(Type.Object({
    files: Type.Array(SourceFile, {
      minItems: 1, maxItems: 256,
      "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["path"],
      description: "The files of the source directory.",
    }),
  }, { description: "Small all-text sources written into the TrainingRun itself (at most ~900 KiB); the operator stores them as a snapshot." })),
  configMap: Type.Optional(LocalObjectRef("A ConfigMap whose keys (data and binaryData) are file names at the root of the source directory; the operator stores it as a snapshot when the run starts.")),
  snapshot: Type.Optional(Type.Object({
    digest: Type.String({ pattern: SNAPSHOT_DIGEST_PATTERN, description: "sha256 of the snapshot manifest in the namespace's store (what `kubectl aml submit` uploads)." }),
  }, { description: "A snapshot already in the namespace's store, named by its digest: any tree up to 300 MiB and 2,000 files, binary files included." })),
  git: Type.Optional(Type.Object({
    url: Type.String({ minLength: 1, maxLength: 2048, pattern: "^(https?)://", description: "Repository URL (http or https)." }),
    revision: Type.String({ minLength: 1, maxLength: 256, description: "Commit, tag or branch; the operator resolves it to a commit once, shown in status.snapshot.commit." }),
    subPath: Type.Optional(Type.String({ maxLength: 1024, description: "Directory inside the repository to use as the source root." })),
    secretRef: Type.Optional(LocalObjectRef("Secret with `username` and `password` (or a token as password) for the repository.")),
  }, { description: "A Git repository at a revision; the operator fetches the commit and stores its tree as a snapshot." })),
  image: Type.Optional(Type.Object({
    workingDir: Type.Optional(Type.String({ maxLength: 1024, pattern: "^/", description: "Directory in the image holding the code." })),
  }, { description: "The code is already in the run's image. Reserved: this build's providers answer it with InvalidSpec." })),
}, {
  description: "The source directory of the run. Exactly one kind; every kind becomes a snapshot in the namespace's store, which every target reads the same way.",
  ...cel(exactlyOneOf(["inline", "configMap", "snapshot", "git", "image"], "source")),
});

/** A copy of a schema without `default`s: an override must not silently set fields it does not name. */
const withoutDefaults = <T extends TSchema>(schema: T): T =>
  JSON.parse(JSON.stringify(schema), (key, value) => (key === "default" ? undefined : value)) as T;

const overrideFields = Object.fromEntries(
  Object.entries(RunConfigurationSpecFields).map(([k, v]) => [k, Type.Optional(withoutDefaults(v as TSchema))]),
) as { [K in keyof typeof RunConfigurationSpecFields]: TSchema };

export const RunConfigurationOverrides = Type.Object(overrideFields, {
  description: "Fields that override (or, without runConfigurationRef, make up) the run configuration for this run only.",
});

export const RunBasedCompute = Type.Object({
  vmSize: Type.String({ minLength: 1, maxLength: 64, description: "VM size of the temporary cluster." }),
  maxNodes: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: "Nodes of the temporary cluster." }),
  vmPriority: StringEnum(["Dedicated", "LowPriority"] as const, { default: "Dedicated", description: "Dedicated or LowPriority nodes." }),
}, { description: "Create a temporary AmlCompute for this run in the target's workspace and delete it when the run ends, whatever the outcome." });

const immutable = (field: string): { rule: string; message: string } => ({
  rule: `has(oldSelf.${field}) == has(self.${field}) && (!has(self.${field}) || self.${field} == oldSelf.${field})`,
  message: `${field} is immutable once the run is submitted; create a new TrainingRun`,
});

export const TrainingRunSpec = Type.Object({
  experimentName: Type.String({ minLength: 1, maxLength: 255, default: "default", description: "Experiment the run belongs to (groups runs, as in Azure ML)." }),
  source: Source,
  script: Type.Optional(Type.String({
    minLength: 1, maxLength: 1024, description: "Script to run, relative to the source root (e.g. train.py).",
    ...cel({ rule: "!self.startsWith('/') && !self.split('/').exists(s, s == '..')", message: "script must be a path inside the source: relative, without '..'" }),
  })),
  arguments: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 200, description: "Arguments passed to the script, as a list (never through a shell)." })),
  command: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { minItems: 1, maxItems: 200, description: "A command to run instead of a script, as an argv list." })),
  runConfigurationRef: Type.Optional(LocalObjectRef("The RunConfiguration to use; it is snapshotted when the run starts.")),
  runConfiguration: Type.Optional(RunConfigurationOverrides),
  runBasedCompute: Type.Optional(RunBasedCompute),
  backoffLimit: Type.Integer({ minimum: 0, maximum: 100, default: 0, description: "Retries after a failed attempt; each retry is a new attempt, counted in status.attempts." }),
  activeDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 1, description: "Wall-clock limit from the start of the run; then it fails with DeadlineExceeded." })),
  ttlSecondsAfterFinished: Type.Optional(Type.Integer({ minimum: 0, description: "Delete the run's Jobs/pods (not the TrainingRun) this long after it finishes." })),
  cancel: Type.Boolean({ default: false, description: "Set to true to cancel the run; it ends Canceled." }),
  suspend: Type.Boolean({ default: false, description: "While true a run that has not started yet stays Queued (Kueue-compatible); it has no effect once the first attempt is submitted." }),
  primaryMetric: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "The metric shown first in status.metrics and in the Metric column (default: the first one reported); a Sweep sets it on its trials." })),
}, {
  description: "One submission of a script (Azure ML's ScriptRunConfig).",
  ...cel(
    exactlyOneOf(["script", "command"], "the run"),
    {
      rule: "has(self.runConfigurationRef) || (has(self.runConfiguration) && has(self.runConfiguration.computeTargetRef))",
      message: "set runConfigurationRef, or runConfiguration.computeTargetRef for a run without a RunConfiguration",
    },
    { rule: "!has(self.arguments) || has(self.script)", message: "arguments go with script; put them in command otherwise" },
    immutable("script"),
    immutable("command"),
    immutable("runConfigurationRef"),
    { rule: "!oldSelf.cancel || self.cancel", message: "a canceled run cannot be un-canceled" },
  ),
});

export const RUN_PHASES = [
  "Queued", "Preparing", "Provisioning", "Starting", "Running", "Finalizing", "Completed", "Failed", "Canceled",
] as const;
export type RunPhase = (typeof RUN_PHASES)[number];
export const TERMINAL_PHASES: readonly RunPhase[] = ["Completed", "Failed", "Canceled"];

export const RunLinks = Type.Object({
  jobName: Type.Optional(Type.String({ description: "Kubernetes Job of the current attempt (Local)." })),
  podName: Type.Optional(Type.String({ description: "Pod of the current attempt (rank 0 for Indexed Jobs)." })),
  azureJobName: Type.Optional(Type.String({ description: "Azure ML job name." })),
  studioUrl: Type.Optional(Type.String({ description: "Azure ML studio link of the job." })),
  computeName: Type.Optional(Type.String({ description: "Azure compute the run used (run-based computes too)." })),
  batchJobId: Type.Optional(Type.String({ description: "Azure Batch job id." })),
  batchTaskId: Type.Optional(Type.String({ description: "Azure Batch task id." })),
  databricksRunId: Type.Optional(Type.String({ description: "Databricks run id." })),
  remoteRunDir: Type.Optional(Type.String({ description: "Run directory on the VM or head node." })),
}, { description: "Where to look at the run." });

export const SnapshotStatus = Type.Object({
  files: Type.Integer({ minimum: 0, description: "Files in the snapshot." }),
  bytes: Type.Integer({ minimum: 0, description: "Bytes in the snapshot." }),
  commit: Type.Optional(Type.String({ description: "Git commit the revision resolved to (git sources)." })),
}, { description: "The snapshot the run executes." });

export const OutputsStatus = Type.Object({
  attempt: Type.Integer({ minimum: 1, description: "Attempt whose outputs these are (the last one that ran)." }),
  location: Type.String({ description: "Where ./outputs of that attempt is kept in the store: <container>/<namespace>/<run>-<uid>/attempt-<n>/outputs/." }),
  files: Type.Integer({ minimum: 0, description: "Files kept." }),
  bytes: Type.Integer({ minimum: 0, description: "Bytes kept." }),
  log: Type.Optional(Type.String({ description: "The attempt's full stdout/stderr in the store." })),
  logBytes: Type.Optional(Type.Integer({ minimum: 0, description: "Size of the log." })),
  message: Type.Optional(Type.String({ description: "What was left out or could not be uploaded." })),
}, { description: "The run's outputs and log; kept after pods and Jobs are gone, deleted with the TrainingRun. `kubectl aml download` fetches them." });

export const RunExecution = Type.Object({
  attempt: Type.Integer({ minimum: 1, description: "The attempt the handle belongs to (1-based, as in status.attempts)." }),
  handle: Type.Optional(FreeFormObject({ description: "The provider's resume handle of that attempt: identifiers only (job, pod, run directory), never a secret; each provider validates its own." })),
  released: Type.Optional(Type.Boolean({ description: "The finished run's resources that cost money (e.g. a run-based compute) were released." })),
  cleanedUp: Type.Optional(Type.Boolean({ description: "ttlSecondsAfterFinished removed what the run left on its target." })),
}, { description: "Where the current attempt runs, for the operator to resume observing it (internal)." });

export const TrainingRunStatus = Type.Object({
  observedGeneration: Type.Optional(ObservedGeneration),
  conditions: Type.Optional(Conditions),
  phase: Type.Optional(StringEnum(RUN_PHASES, { description: "Display-only state mirroring Azure ML run states; conditions are the API." })),
  runId: Type.Optional(Type.String({ description: "Run id: <experiment>_<short uid>." })),
  target: Type.Optional(Type.String({ description: "ComputeTarget name the run uses." })),
  targetType: Type.Optional(Type.String({ description: "Type of that ComputeTarget." })),
  snapshotDigest: Type.Optional(Type.String({ description: "Digest of the run's snapshot (sha256 of its manifest: paths, modes, sizes, contents)." })),
  snapshot: Type.Optional(SnapshotStatus),
  environmentHash: Type.Optional(Type.String({ description: "Hash of the environment the run uses." })),
  startTime: Type.Optional(Type.String({ format: "date-time", description: "When the first attempt was submitted." })),
  completionTime: Type.Optional(Type.String({ format: "date-time", description: "When the run reached a final phase." })),
  duration: Type.Optional(Type.String({ description: "startTime to completionTime (or now), e.g. 1m20s." })),
  attempts: Type.Optional(Type.Integer({ minimum: 0, description: "Attempts started so far." })),
  exitCode: Type.Optional(Type.Integer({ description: "Exit code of the script's last attempt." })),
  outputTail: Type.Optional(Type.String({ maxLength: 8192, description: "Last lines of the script's output (bounded)." })),
  links: Type.Optional(RunLinks),
  outputs: Type.Optional(OutputsStatus),
  runConfiguration: Type.Optional(Type.Object(Object.fromEntries(
    Object.entries(RunConfigurationSpecFields).map(([k, v]) => [k, Type.Optional(withoutDefaults(v as TSchema))]),
  ), { description: "The run configuration as resolved when the run started; later edits of the RunConfiguration do not change it." })),
  execution: Type.Optional(RunExecution),
  metrics: Type.Optional(RunMetrics),
}, { description: "Observed state of the run." });

/** spec.runConfiguration is built from a field map; its static type is the partial spec. */
export type TrainingRunSpec = Omit<Static<typeof TrainingRunSpec>, "runConfiguration"> & {
  runConfiguration?: Partial<RunConfigurationSpec>;
};
/** status.runConfiguration is schema-typed loosely (built from a field map); narrow it here. */
export type TrainingRunStatus = Omit<Static<typeof TrainingRunStatus>, "runConfiguration"> & {
  runConfiguration?: RunConfigurationSpec;
};
export type Source = Static<typeof Source>;
export type SourceFile = Static<typeof SourceFile>;
export type RunLinks = Static<typeof RunLinks>;
export type SnapshotStatus = Static<typeof SnapshotStatus>;
export type OutputsStatus = Static<typeof OutputsStatus>;
export type RunExecution = Static<typeof RunExecution>;
