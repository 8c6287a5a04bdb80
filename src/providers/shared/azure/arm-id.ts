/**
 * Whether two ARM resource ids name the same resource. ARM ids are case-insensitive (ARM answers
 * with its own casing, e.g. `resourcegroups` for `resourceGroups`) and a trailing "/" changes
 * nothing; absent and empty are the same (no resource).
 */
export function sameArmId(a: string | undefined | null, b: string | undefined | null): boolean {
  const norm = (id: string | undefined | null): string => (id ?? "").replace(/\/+$/, "").toLowerCase();
  return norm(a) === norm(b);
}
