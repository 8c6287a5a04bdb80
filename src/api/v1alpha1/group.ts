/** API group constants. Every other file takes names from here so a rename is one edit. */
export const GROUP = "amlcompute.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Finalizer that guards cleanup of external resources (Azure computes, remote processes, Jobs). */
export const FINALIZER = `${GROUP}/finalizer`;
/** Server-side-apply field manager for everything the operator writes. */
export const FIELD_MANAGER = "aml-compute-operator";
/** `kubectl get aml` lists all three kinds. */
export const CATEGORY = "aml";

/** Labels the operator puts on the objects it creates (Jobs, Pods, ConfigMaps). */
export const Labels = {
  managedBy: "app.kubernetes.io/managed-by",
  run: `${GROUP}/training-run`,
  runUid: `${GROUP}/run-uid`,
  attempt: `${GROUP}/attempt`,
  envHash: `${GROUP}/environment-hash`,
  role: `${GROUP}/role`,
  sweep: `${GROUP}/sweep`,
  trialIndex: `${GROUP}/trial-index`,
} as const;

/** Annotations the operator puts on the TrainingRuns of a Sweep's trials. */
export const Annotations = {
  /** The trial's parameter values as a JSON object of strings. */
  trialParameters: `${GROUP}/trial-parameters`,
  /** Why the sweep stopped the trial (early termination), so a restart still knows. */
  stoppedBy: `${GROUP}/stopped-by`,
} as const;

export const MANAGED_BY_VALUE = "aml-compute-operator";
