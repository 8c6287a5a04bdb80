/**
 * Snapshot manifests: the sorted list of (path, mode, size, sha256) of a source tree. The sha256
 * of the manifest's canonical JSON bytes is the snapshot digest, so equal trees give equal digests
 * on every machine, whoever built them (the kubectl plugin, the operator from an inline source or
 * a git commit). The runner verifies a downloaded manifest against that digest before anything runs.
 */
import { createHash } from "node:crypto";

export const MANIFEST_VERSION = 1;

export interface ManifestEntry {
  /** Relative POSIX path, UTF-8, no "." / ".." / empty segments. */
  readonly path: string;
  /** 0o755 for executables, 0o644 otherwise: only the executable bit is kept (as git does). */
  readonly mode: number;
  readonly size: number;
  /** Lower-case hex sha256 of the file's bytes: the object's name in the store. */
  readonly sha256: string;
}

export interface Manifest {
  readonly version: number;
  readonly files: readonly ManifestEntry[];
}

export const sha256Of = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

/** Only the executable bit survives, so a umask or a checkout on another machine changes nothing. */
export const normalizeMode = (mode: number): number => ((mode & 0o111) !== 0 ? 0o755 : 0o644);

/** Byte order of the UTF-8 encodings (not UTF-16 code units): what Python's bytes sort gives too. */
export const comparePaths = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/** Entries sorted by path bytes with normalized modes and a fixed key order. */
export function canonicalEntries(files: readonly ManifestEntry[]): ManifestEntry[] {
  return [...files]
    .map((f) => ({ path: f.path, mode: normalizeMode(f.mode), size: f.size, sha256: f.sha256 }))
    .sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * The canonical bytes: compact JSON, keys in a fixed order, entries sorted by path bytes, UTF-8.
 * (Python: json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode() gives the same.)
 */
export function canonicalManifestBytes(files: readonly ManifestEntry[]): Buffer {
  const manifest: Manifest = { version: MANIFEST_VERSION, files: canonicalEntries(files) };
  return Buffer.from(JSON.stringify(manifest), "utf8");
}

export const digestOfBytes = (bytes: Uint8Array): string => `sha256:${sha256Of(bytes)}`;

export function manifestDigest(files: readonly ManifestEntry[]): string {
  return digestOfBytes(canonicalManifestBytes(files));
}

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** "sha256:<hex>" → "<hex>"; throws on anything else (a digest names a blob, so it must be exact). */
export function hexOfDigest(digest: string): string {
  if (!DIGEST_PATTERN.test(digest)) throw new Error(`not a snapshot digest: ${JSON.stringify(digest)}`);
  return digest.slice("sha256:".length);
}

export interface ManifestTotals { readonly files: number; readonly bytes: number }

export const totalsOf = (files: readonly ManifestEntry[]): ManifestTotals =>
  ({ files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) });
