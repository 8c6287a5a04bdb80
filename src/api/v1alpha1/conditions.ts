/**
 * Condition types and reasons, per kind. The README's conditions table is written from these.
 * Reasons are PascalCase and stable: tools (Argo CD health, alerts) match on them.
 */

export const ConditionType = {
  /** ComputeTarget / RunConfiguration summary. */
  Ready: "Ready",
  /** TrainingRun summary: Unknown while active, True on success, False on failure or cancel. */
  Succeeded: "Succeeded",
  /** TrainingRun: its compute target (and environment) can take the run. */
  ComputeReady: "ComputeReady",
  /** TrainingRun: the script is executing. */
  Running: "Running",
  /** TrainingRun: spec.suspend holds it. */
  Suspended: "Suspended",
  /**
   * TrainingRun: what a finished run held (a run-based compute, Jobs after the TTL) was released.
   * False with the provider's reason while releasing or cleaning up fails; the phase stays.
   */
  ResourcesReleased: "ResourcesReleased",
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const TargetReason = {
  Ready: "Ready",
  Attached: "Attached",
  Provisioning: "Provisioning",
  Deleting: "Deleting",
  ProviderNotAvailable: "ProviderNotAvailable",
  TargetRetired: "TargetRetired",
  InvalidSpec: "InvalidSpec",
  SecretNotFound: "SecretNotFound",
  ServiceAccountNotFound: "ServiceAccountNotFound",
  /** local.environmentCache.hostPath is not under a prefix the operator's administrator allows. */
  HostPathNotAllowed: "HostPathNotAllowed",
  AuthenticationFailed: "AuthenticationFailed",
  /** No credentials of the namespace's own, and the operator's identity does not serve the namespace. */
  IdentityNotAllowed: "IdentityNotAllowed",
  HostKeyMismatch: "HostKeyMismatch",
  Unreachable: "Unreachable",
  ProvisioningFailed: "ProvisioningFailed",
  QuotaExceeded: "QuotaExceeded",
  InvalidVmSize: "InvalidVmSize",
  AuthorizationFailed: "AuthorizationFailed",
  /** ARM answered 403 within the grace a new role assignment needs to propagate; retried. */
  AuthorizationPending: "AuthorizationPending",
  Throttled: "Throttled",
  AzureError: "AzureError",
  /** Provision found a compute of that name it does not own, and adopt is false. */
  AlreadyExists: "AlreadyExists",
  /** Attach names a compute that does not exist. */
  ComputeNotFound: "ComputeNotFound",
  /** Another submit holds the VM's admission lock; retried. */
  AdmissionBusy: "AdmissionBusy",
} as const;

export const RunConfigReason = {
  Ready: "Ready",
  ComputeTargetNotFound: "ComputeTargetNotFound",
  ComputeTargetNotReady: "ComputeTargetNotReady",
  UnsupportedOnTarget: "UnsupportedOnTarget",
  InvalidSpec: "InvalidSpec",
} as const;

export const RunReason = {
  Queued: "Queued",
  Suspended: "Suspended",
  Preparing: "Preparing",
  BuildingEnvironment: "BuildingEnvironment",
  Provisioning: "Provisioning",
  Starting: "Starting",
  Running: "Running",
  Finalizing: "Finalizing",
  Completed: "Completed",
  ScriptFailed: "ScriptFailed",
  EnvironmentFailed: "EnvironmentFailed",
  Retrying: "Retrying",
  BackoffLimitExceeded: "BackoffLimitExceeded",
  DeadlineExceeded: "DeadlineExceeded",
  Canceled: "Canceled",
  RunConfigurationNotFound: "RunConfigurationNotFound",
  ComputeTargetNotFound: "ComputeTargetNotFound",
  WaitingForComputeTarget: "WaitingForComputeTarget",
  TargetRetired: "TargetRetired",
  ProviderNotAvailable: "ProviderNotAvailable",
  SourceTooLarge: "SourceTooLarge",
  SourceNotFound: "SourceNotFound",
  InvalidSpec: "InvalidSpec",
  SubmissionFailed: "SubmissionFailed",
  Lost: "Lost",
  OOMKilled: "OOMKilled",
  /** The container could not start (bad command, missing executable); the runtime's message says why. */
  StartError: "StartError",
  /** Azure ML accepted a cancel and is stopping the job. */
  CancelRequested: "CancelRequested",
  /** ResourcesReleased=True: release and cleanup are done. */
  Released: "Released",
  /** An ended attempt's resources are being released (requeued until done). */
  Releasing: "Releasing",
  // The run data plane (snapshots and outputs in the store).
  /** A stored object or manifest does not match its sha256: nothing ran. */
  SnapshotCorrupt: "SnapshotCorrupt",
  /** A manifest with paths that cannot be materialized (.., absolute, duplicates). */
  SnapshotInvalid: "SnapshotInvalid",
  /** source.snapshot names a digest the namespace's store does not hold. */
  SnapshotNotFound: "SnapshotNotFound",
  /** The runner could not fetch the snapshot (store unreachable from the target). */
  SnapshotUnavailable: "SnapshotUnavailable",
  /** The runner itself failed before the command started (working directory not empty, …). */
  RunnerFailed: "RunnerFailed",
  /** The store did not answer (DNS, refused, timeout, 5xx): retried with back-off. */
  StoreUnavailable: "StoreUnavailable",
  /** The store refused the credential (key, SAS, or the identity's role). */
  StoreAccessDenied: "StoreAccessDenied",
  /** The storage account refuses more data (quota, capacity). */
  StoreFull: "StoreFull",
  /** Neither the operator nor the namespace names a store. */
  StoreNotConfigured: "StoreNotConfigured",
  /** A git source is being fetched and stored. */
  FetchingSource: "FetchingSource",
  /** The git source cannot be fetched: unknown revision, refused credentials, a symlink or submodule. */
  GitSourceFailed: "GitSourceFailed",
  /** The git server did not answer. */
  SourceUnavailable: "SourceUnavailable",
  /** A Secret the run names (source.git.secretRef) does not exist. */
  SourceSecretNotFound: "SourceSecretNotFound",
  /** A rank of a Local attempt was not scheduled within schedulingTimeoutSeconds. */
  Unschedulable: "Unschedulable",
  /**
   * A Local attempt's pods could not be created (FailedCreate: a missing PriorityClass, quota) or
   * their containers could not start (FailedMount, image, container configuration) within
   * schedulingTimeoutSeconds; the message carries Kubernetes' reason.
   */
  CannotStart: "CannotStart",
} as const;

/**
 * Reasons for failures that are not about the object's own spec: something the operator called
 * failed. The condition's message says what; the queue retries transient ones with back-off.
 */
export const ErrorReason = {
  /** An error no layer classified (a bug, or an SDK failure nobody anticipated). */
  ReconcileError: "ReconcileError",
  // The Kubernetes API server's own Status reasons.
  Forbidden: "Forbidden",
  Unauthorized: "Unauthorized",
  Invalid: "Invalid",
  TooManyRequests: "TooManyRequests",
  InternalError: "InternalError",
  ServiceUnavailable: "ServiceUnavailable",
  Timeout: "Timeout",
  APIServerError: "APIServerError",
  APIServerUnreachable: "APIServerUnreachable",
} as const;

export const SweepReason = {
  Running: "Running",
  Suspended: "Suspended",
  /** Every trial the sweep could run has ended (maxTrials, or the whole grid). */
  Completed: "Completed",
  MaxDurationReached: "MaxDurationReached",
  Canceled: "Canceled",
  /** The parameter space cannot be sampled (duplicate values, bounds, a type the algorithm refuses). */
  InvalidSpace: "InvalidSpace",
  GridLargerThanMaxTrials: "GridLargerThanMaxTrials",
  /** Every trial ended, none reported the primary metric: there is no best trial. */
  NoTrialReportedMetric: "NoTrialReportedMetric",
  /** The Bayesian suggestion process failed or is restarting; retried with back-off. */
  SuggestionServiceUnavailable: "SuggestionServiceUnavailable",
  /** The API server refused a trial built from the template. */
  TrialRejected: "TrialRejected",
} as const;

export type SweepReason = (typeof SweepReason)[keyof typeof SweepReason];
export type TargetReason = (typeof TargetReason)[keyof typeof TargetReason];
export type RunConfigReason = (typeof RunConfigReason)[keyof typeof RunConfigReason];
export type RunReason = (typeof RunReason)[keyof typeof RunReason];
export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];

/** Every reason a condition of this API can carry; the README's reasons table lists them. */
export type Reason = TargetReason | RunConfigReason | RunReason | ErrorReason | SweepReason;

const ALL_REASONS: ReadonlySet<string> = new Set<string>([
  ...Object.values(TargetReason), ...Object.values(RunConfigReason), ...Object.values(RunReason), ...Object.values(ErrorReason),
  ...Object.values(SweepReason),
]);

export const isReason = (value: string): value is Reason => ALL_REASONS.has(value);
