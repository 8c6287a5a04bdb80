import type { Snapshot, SnapshotFile } from "../providers/types.js";
import { manifestDigest, normalizeMode, sha256Of } from "../data-plane/manifest.js";

/**
 * An in-memory snapshot of text files, for executors that still take file contents
 * (`sub.snapshot.files`) rather than reading the store through the runner. Its digest is the
 * store's manifest digest, so the same tree has the same digest whichever way it travels.
 */
export function buildSnapshot(files: readonly SnapshotFile[]): Snapshot {
  const entries = files.map((f) => {
    const bytes = Buffer.from(f.content, "utf8");
    return { path: f.path, mode: normalizeMode(f.mode ?? 0o644), size: bytes.length, sha256: sha256Of(bytes) };
  });
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return { digest: manifestDigest(entries), files: sorted, totalBytes: entries.reduce((n, e) => n + e.size, 0) };
}
