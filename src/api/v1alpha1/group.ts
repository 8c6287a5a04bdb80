import { createHash } from "node:crypto";

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

/** Annotations the operator puts on the objects it creates. */
export const Annotations = {
  /**
   * The full TrainingRun name on its Jobs and pods. A label value holds at most 63 characters, a
   * TrainingRun name up to 253: the run label carries a value that always fits (runLabelValue),
   * this annotation the full name the controllers map events back with.
   */
  run: `${GROUP}/training-run`,
  /** On a Sweep's trial runs: the trial's parameter values as a JSON object of strings. */
  trialParameters: `${GROUP}/trial-parameters`,
  /** Why the sweep stopped the trial (early termination), so a restart still knows. */
  stoppedBy: `${GROUP}/stopped-by`,
} as const;

export const MANAGED_BY_VALUE = "aml-compute-operator";

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A run name as a label value: itself when it fits, else a cut prefix plus 8 hex of its sha256. */
export function runLabelValue(name: string): string {
  if (name.length <= 63 && LABEL_VALUE.test(name)) return name;
  const prefix = name.slice(0, 54).replace(/[^A-Za-z0-9]+$/, "");
  return `${prefix}-${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}
