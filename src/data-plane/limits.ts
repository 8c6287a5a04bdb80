/**
 * Size limits of a snapshot, the ones Azure ML applies to its snapshots: a source directory is
 * code plus small assets; data belongs in a datastore. Checked by the plugin before anything is
 * uploaded and by the operator for sources it builds itself (inline, ConfigMap, git).
 */
import type { ManifestEntry } from "./manifest.js";

export const MAX_SNAPSHOT_BYTES = 300 * 1024 * 1024;
export const MAX_SNAPSHOT_FILES = 2000;

export const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
};

export interface Limits { readonly maxBytes: number; readonly maxFiles: number }
export const DEFAULT_LIMITS: Limits = { maxBytes: MAX_SNAPSHOT_BYTES, maxFiles: MAX_SNAPSHOT_FILES };

/** The largest files first, as "path (size)", so the message says what to leave out. */
function largest(files: readonly Pick<ManifestEntry, "path" | "size">[], n: number): string {
  return [...files].sort((a, b) => b.size - a.size).slice(0, n).map((f) => `${f.path} (${formatBytes(f.size)})`).join(", ");
}

/** A message naming the largest files when the tree is over a limit; undefined when it fits. */
export function limitProblem(files: readonly Pick<ManifestEntry, "path" | "size">[], limits: Limits = DEFAULT_LIMITS): string | undefined {
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const hint = "Leave files out with .amlignore (or .gitignore), or keep large data in a datastore and read it from the script.";
  if (bytes > limits.maxBytes) {
    return `the snapshot is ${formatBytes(bytes)} in ${files.length} files, over the limit of ${formatBytes(limits.maxBytes)}. ` +
      `Largest files: ${largest(files, 5)}. ${hint}`;
  }
  if (files.length > limits.maxFiles) {
    return `the snapshot has ${files.length} files, over the limit of ${limits.maxFiles}. Largest files: ${largest(files, 5)}. ${hint}`;
  }
  return undefined;
}
