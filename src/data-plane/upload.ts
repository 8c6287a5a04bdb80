/**
 * Turns a file list into a stored snapshot: validate, check the limits, ask the store which
 * contents it lacks (one existence check per sha256, bounded), upload only those, then the
 * manifest. A second upload of a tree with one edited file sends that file and the manifest only.
 */
import { TerminalError } from "../runtime/errors.js";
import { mapLimit } from "./concurrency.js";
import { StoreReason } from "./errors.js";
import { DEFAULT_LIMITS, limitProblem, type Limits } from "./limits.js";
import { canonicalManifestBytes, normalizeMode, sha256Of, totalsOf, type ManifestEntry } from "./manifest.js";
import type { BlobStore } from "./store.js";
import { manifestProblems } from "./validate.js";

export const UPLOAD_CONCURRENCY = 8;

/** A file to snapshot: its manifest entry plus how to read its bytes when the store lacks them. */
export interface SourceEntry extends ManifestEntry {
  read(): Promise<Buffer>;
}

export interface UploadProgress {
  readonly filesToUpload: number;
  readonly bytesToUpload: number;
  readonly filesUploaded: number;
  readonly bytesUploaded: number;
}

export interface SnapshotUpload {
  readonly digest: string;
  readonly files: number;
  readonly bytes: number;
  /** What this call sent (contents the store lacked), manifest not counted. */
  readonly uploadedFiles: number;
  readonly uploadedBytes: number;
}

/** Refused before anything is uploaded: too large, or paths that cannot be materialized. */
export class SnapshotRejected extends TerminalError {
  constructor(message: string, reason: "SourceTooLarge" | typeof StoreReason.SnapshotInvalid) {
    super(message, reason);
  }
}

/** Entries of in-memory files (inline and ConfigMap sources, git trees). */
export function entriesOfBuffers(files: readonly { path: string; mode?: number; content: Buffer }[]): SourceEntry[] {
  return files.map((f) => ({
    path: f.path, mode: normalizeMode(f.mode ?? 0o644), size: f.content.length, sha256: sha256Of(f.content),
    read: async () => f.content,
  }));
}

export function checkEntries(entries: readonly ManifestEntry[], limits: Limits = DEFAULT_LIMITS): void {
  const problems = manifestProblems(entries.map((e) => ({ ...e, mode: normalizeMode(e.mode) })));
  if (problems.length) {
    throw new SnapshotRejected(`the source cannot be a snapshot: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`, StoreReason.SnapshotInvalid);
  }
  const tooLarge = limitProblem(entries, limits);
  if (tooLarge) throw new SnapshotRejected(tooLarge, "SourceTooLarge");
}

export interface UploadOptions {
  concurrency?: number;
  limits?: Limits;
  onProgress?: (p: UploadProgress) => void;
}

export async function uploadSnapshot(store: BlobStore, entries: readonly SourceEntry[], opts: UploadOptions = {}): Promise<SnapshotUpload> {
  checkEntries(entries, opts.limits);
  const manifestEntries: ManifestEntry[] = entries.map(({ path, mode, size, sha256 }) => ({ path, mode, size, sha256 }));
  const missing = await store.missingObjects(entries.map((e) => e.sha256));
  // One upload per missing content, even when several paths share it.
  const toSend = [...new Map(entries.filter((e) => missing.has(e.sha256)).map((e) => [e.sha256, e])).values()];
  const progress = { filesToUpload: toSend.length, bytesToUpload: toSend.reduce((n, e) => n + e.size, 0), filesUploaded: 0, bytesUploaded: 0 };
  opts.onProgress?.({ ...progress });
  await mapLimit(toSend, opts.concurrency ?? UPLOAD_CONCURRENCY, async (e) => {
    await store.putObject(e.sha256, await e.read());
    progress.filesUploaded++;
    progress.bytesUploaded += e.size;
    opts.onProgress?.({ ...progress });
  });
  const digest = await store.putManifest(canonicalManifestBytes(manifestEntries));
  const totals = totalsOf(manifestEntries);
  return { digest, files: totals.files, bytes: totals.bytes, uploadedFiles: progress.filesUploaded, uploadedBytes: progress.bytesUploaded };
}
