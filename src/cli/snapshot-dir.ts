/**
 * Snapshots a local source directory into the files of an inline TrainingRun source, the way Azure
 * ML's ScriptRunConfig does: `.amlignore` if present, else `.gitignore` (gitignore syntax, root
 * file only), and `.git/` always left out. Pure apart from reading the directory.
 */
import { lstatSync, readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join, relative, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import { MAX_CONFIGMAP_SOURCE_BYTES } from "../api/v1alpha1/index.js";
import type { Snapshot, SnapshotFile } from "../providers/types.js";
import { buildSnapshot } from "../snapshot/build.js";

/** Most files an inline source holds (spec.source.inline.files maxItems). */
export const MAX_INLINE_FILES = 256;

export class SnapshotError extends Error {}

export interface DirSnapshot extends Snapshot {
  /** Which ignore file was honoured, if any. */
  ignoreFile?: ".amlignore" | ".gitignore";
  /** Relative paths left out by the ignore file (directories end with a slash). */
  ignored: string[];
}

function loadIgnore(root: string): { matcher: Ignore; file?: DirSnapshot["ignoreFile"] } {
  const matcher = ignore().add(".git/");
  for (const file of [".amlignore", ".gitignore"] as const) {
    const path = join(root, file);
    if (existsSync(path)) return { matcher: matcher.add(readFileSync(path, "utf8")), file };
  }
  return { matcher };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function readText(abs: string, rel: string): string {
  try {
    return utf8.decode(readFileSync(abs));
  } catch {
    throw new SnapshotError(`${rel} is not UTF-8 text; inline sources hold text only. ` +
      "Add it to .amlignore, or upload the directory as a tarball and use spec.source.blob.");
  }
}

function walk(root: string, dir: string, ig: Ignore, out: { files: SnapshotFile[]; ignored: string[] }): void {
  for (const entry of readdirSync(dir).sort()) {
    const abs = join(dir, entry);
    const rel = relative(root, abs).split(sep).join("/");
    // lstat first: a symlink to a directory could loop; a symlink to a file is read through.
    const st = lstatSync(abs).isSymbolicLink() ? statSync(abs) : lstatSync(abs);
    const key = st.isDirectory() ? `${rel}/` : rel;
    if (ig.ignores(key)) { out.ignored.push(key); continue; }
    if (st.isDirectory()) {
      if (!lstatSync(abs).isSymbolicLink()) walk(root, abs, ig, out);
      continue;
    }
    if (!st.isFile()) continue;
    const executable = (st.mode & 0o111) !== 0;
    out.files.push({ path: rel, content: readText(abs, rel), ...(executable ? { mode: 0o755 } : {}) });
  }
}

/** Reads `root` into a snapshot; throws SnapshotError when it cannot be an inline source. */
export function snapshotDirectory(root: string): DirSnapshot {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new SnapshotError(`${root} is not a directory`);
  const { matcher, file } = loadIgnore(root);
  const out = { files: [] as SnapshotFile[], ignored: [] as string[] };
  walk(root, root, matcher, out);
  if (out.files.length === 0) throw new SnapshotError(`${root} has no files to submit (after ${file ?? "ignore rules"})`);
  const snapshot = buildSnapshot(out.files);
  if (snapshot.totalBytes > MAX_CONFIGMAP_SOURCE_BYTES) {
    throw new SnapshotError(`source is ${snapshot.totalBytes} bytes (${(snapshot.totalBytes / 1024).toFixed(0)} KiB); ` +
      `an inline source holds at most ${MAX_CONFIGMAP_SOURCE_BYTES / 1024} KiB. ` +
      "Leave large files out with .amlignore, or upload the directory as a tarball and use spec.source.blob.");
  }
  if (snapshot.files.length > MAX_INLINE_FILES) {
    throw new SnapshotError(`source has ${snapshot.files.length} files; an inline source holds at most ${MAX_INLINE_FILES}. ` +
      "Leave files out with .amlignore, or upload the directory as a tarball and use spec.source.blob.");
  }
  return { ...snapshot, ...(file ? { ignoreFile: file } : {}), ignored: out.ignored };
}
