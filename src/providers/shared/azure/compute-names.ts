import { createHash } from "node:crypto";
import { AZURE_COMPUTE_NAME } from "../../../api/v1alpha1/index.js";

/** A compute cluster (AmlCompute) or a compute attached by resource id (HDInsight, VM, Databricks). */
export type ComputeKind = keyof typeof AZURE_COMPUTE_NAME.maxLength;

const VALID = new RegExp(AZURE_COMPUTE_NAME.pattern);

/** Why Azure ML refuses `name` for a compute of this kind, or undefined when it accepts it. */
export function computeNameProblem(name: string, kind: ComputeKind): string | undefined {
  const max = AZURE_COMPUTE_NAME.maxLength[kind];
  if (name.length < AZURE_COMPUTE_NAME.minLength || name.length > max) return `must be ${AZURE_COMPUTE_NAME.minLength} to ${max} characters long`;
  if (!VALID.test(name)) return "must use letters, digits and -, start with a letter and have a letter after its last -";
  return undefined;
}

/** `length` (at most 32) lower-case letters from the seed's sha256: a name part that is never all digits. */
export function letterHash(seed: string, length: number): string {
  return [...createHash("sha256").update(seed).digest().subarray(0, length)].map((b) => String.fromCharCode(97 + (b % 26))).join("");
}

/**
 * The compute name for a Kubernetes name: the name itself when Azure ML accepts it, otherwise the
 * name with anything but letters, digits and - replaced, cut to fit, then "-" and six letters of
 * its hash (two long names sharing a prefix stay apart, and the letters satisfy the "letter after
 * the last -" rule). Stable for a given name, valid for every input.
 */
export function deriveComputeName(name: string, kind: ComputeKind): string {
  if (!computeNameProblem(name, kind)) return name;
  const suffix = letterHash(name, 6);
  let base = name.replace(/[^A-Za-z0-9-]+/g, "-");
  if (!/^[A-Za-z]/.test(base)) base = `c${base}`;
  base = base.slice(0, AZURE_COMPUTE_NAME.maxLength[kind] - 1 - suffix.length).replace(/-+$/, "");
  return `${base}-${suffix}`;
}
