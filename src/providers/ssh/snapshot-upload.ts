import { createHash, randomBytes } from "node:crypto";
import { TerminalError } from "../../runtime/errors.js";
import type { Snapshot } from "../types.js";
import { nulList, safeName } from "./remote-job.js";
import type { SshSession } from "./session.js";

/** What one snapshot upload cost. `bytes` counts file content only (the benchmark's number). */
export interface UploadStats {
  readonly files: number;
  readonly bytes: number;
  /** Objects already on the VM (same content, any earlier snapshot). */
  readonly reusedFiles: number;
  /** The whole snapshot (manifest) was already there: nothing was even checked. */
  readonly snapshotReused: boolean;
}

interface ManifestEntry { readonly sha: string; readonly mode: string; readonly path: string; readonly content: Buffer }

const PARALLEL = 8;

function checkPath(path: string): string {
  const segments = path.split("/");
  if (path.startsWith("/") || path.includes("\0") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new TerminalError(`snapshot path "${path.slice(0, 80)}" is not a clean relative path`, "InvalidSpec");
  }
  return path;
}

function entriesOf(snapshot: Snapshot): ManifestEntry[] {
  return snapshot.files.map((f) => {
    const content = Buffer.from(f.content, "utf8");
    return {
      sha: createHash("sha256").update(content).digest("hex"),
      mode: ((f.mode ?? 0o644) & 0o777).toString(8),
      path: checkPath(f.path),
      content,
    };
  });
}

async function forEachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

/** Write to a temporary name, then rename: readers never see a partial file. */
export async function writeAtomically(session: SshSession, path: string, data: Buffer | string, mode?: number): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  await session.writeFile(tmp, data, mode);
  await session.rename(tmp, path);
}

/**
 * Content-addressed upload: objects/<sha256> per distinct file content, then a manifest
 * snapshots/<digest>.manifest (NUL-separated sha, mode, path triples) written last, so an existing
 * manifest proves every object it names is present. A re-run of an unchanged source costs one stat.
 */
export async function ensureSnapshot(session: SshSession, workDir: string, snapshot: Snapshot): Promise<UploadStats> {
  const manifestPath = `${workDir}/snapshots/${safeName(snapshot.digest, "snapshot digest")}.manifest`;
  if (await session.exists(manifestPath)) return { files: 0, bytes: 0, reusedFiles: snapshot.files.length, snapshotReused: true };
  const entries = entriesOf(snapshot);
  const unique = [...new Map(entries.map((e) => [e.sha, e])).values()];
  let files = 0; let bytes = 0;
  await forEachLimited(unique, async (e) => {
    const objectPath = `${workDir}/objects/${e.sha}`;
    if (await session.exists(objectPath)) return;
    await writeAtomically(session, objectPath, e.content, 0o600);
    files++;
    bytes += e.content.length;
  });
  await writeAtomically(session, manifestPath, nulList(entries.flatMap((e) => [e.sha, e.mode, e.path])), 0o600);
  return { files, bytes, reusedFiles: entries.length - files, snapshotReused: false };
}
