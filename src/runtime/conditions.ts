/**
 * Pure helpers over metav1.Condition plus ASO's optional severity. Structural types
 * only, so src/api's TypeBox Condition type is assignable without this file importing it.
 */
export type ConditionStatus = "True" | "False" | "Unknown";
export type ConditionSeverity = "Error" | "Warning" | "Info";

export interface Condition {
  type: string;
  status: ConditionStatus;
  severity?: ConditionSeverity;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/**
 * Returns a new list with `cond` replacing the condition of the same type (appended if absent).
 * lastTransitionTime is kept when the status did not change and set to `now` when it did
 * (cert-manager SetCertificateCondition). The input list is not mutated.
 */
export function setCondition<C extends Condition>(
  list: readonly C[] | undefined, cond: Omit<C, "lastTransitionTime"> & { lastTransitionTime?: string }, now: Date,
): C[] {
  const existing = (list ?? []).find((c) => c.type === cond.type);
  const transitioned = !existing || existing.status !== cond.status;
  const lastTransitionTime = transitioned
    ? (cond.lastTransitionTime ?? now.toISOString())
    : existing.lastTransitionTime;
  const next = { ...cond, lastTransitionTime } as C;
  if (!existing) return [...(list ?? []), next];
  return (list ?? []).map((c) => (c.type === cond.type ? next : c));
}

export function getCondition<C extends Condition>(list: readonly C[] | undefined, type: string): C | undefined {
  return list?.find((c) => c.type === type);
}

export const isTrue = (list: readonly Condition[] | undefined, type: string): boolean =>
  getCondition(list, type)?.status === "True";

export const isFalse = (list: readonly Condition[] | undefined, type: string): boolean =>
  getCondition(list, type)?.status === "False";

/**
 * Deep equality of JSON-like values ignoring object key order, used to skip no-op status writes.
 * `undefined`-valued keys count as absent, matching what JSON serialisation sends to the server.
 */
export function statusEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => statusEqual(v, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => statusEqual(ra[k], rb[k]));
}
