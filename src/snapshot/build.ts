import type { Source } from "../api/v1alpha1/index.js";
import { MAX_CONFIGMAP_SOURCE_BYTES } from "../api/v1alpha1/index.js";
import type { Snapshot, SnapshotFile } from "../providers/types.js";
import { sha256Hex } from "../controllers/shared/hash.js";

/**
 * Builds the content-addressed snapshot of a run's source. The digest covers sorted paths, modes
 * and contents, so the same tree always has the same digest wherever it came from (inline, a
 * ConfigMap, the kubectl plugin).
 */
export function buildSnapshot(files: readonly SnapshotFile[]): Snapshot {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map((f) => `${f.path}\0${f.mode ?? 0o644}\0${sha256Hex(f.content)}`);
  const totalBytes = sorted.reduce((n, f) => n + Buffer.byteLength(f.content), 0);
  return { digest: `sha256:${sha256Hex(lines.join("\n"))}`, files: sorted, totalBytes };
}

export type SourceProblem = { reason: "SourceTooLarge" | "SourceNotFound" | "InvalidSpec"; message: string; terminal: boolean };

/** Files of an inline or ConfigMap source; other kinds are delivered by the executor itself. */
export function filesOfSource(source: Source, configMapData?: Record<string, string>): SnapshotFile[] | SourceProblem {
  if (source.inline) return source.inline.files.map((f) => ({ path: f.path, content: f.content, ...(f.mode !== undefined ? { mode: f.mode } : {}) }));
  if (source.configMap) {
    if (!configMapData) {
      return { reason: "SourceNotFound", message: `ConfigMap ${source.configMap.name} not found`, terminal: false };
    }
    return Object.entries(configMapData).map(([path, content]) => ({ path, content }));
  }
  return {
    reason: "InvalidSpec",
    message: "this target takes inline or configMap sources; git, blob and image sources are not supported here yet",
    terminal: true,
  };
}

/** Refuses sources the ConfigMap-backed snapshot store cannot hold, naming what to use instead. */
export function checkSnapshotSize(snapshot: Snapshot): SourceProblem | undefined {
  if (snapshot.totalBytes <= MAX_CONFIGMAP_SOURCE_BYTES) return undefined;
  return {
    reason: "SourceTooLarge",
    terminal: true,
    message: `source is ${snapshot.totalBytes} bytes; inline and ConfigMap sources hold at most ${MAX_CONFIGMAP_SOURCE_BYTES} bytes. ` +
      "Use source.blob (a content-addressed tarball) or source.image for larger sources.",
  };
}
