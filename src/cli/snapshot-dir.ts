/**
 * Reads a local source directory into snapshot entries, the way Azure ML's ScriptRunConfig
 * snapshots a directory: `.amlignore` if present, else `.gitignore` (gitignore syntax, root file
 * only), and `.git/` always left out. Any bytes are fine; only the executable bit of a mode is kept.
 *
 * Symbolic links: a link to a regular file becomes a regular file with the target's content (what
 * the script would read through it); a link to a directory, a dangling link and special files
 * (sockets, FIFOs, devices) are refused with their path named — leave them out with .amlignore.
 * Names that are not valid UTF-8 are refused too (a snapshot's paths are UTF-8 on every target).
 */
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import ignore, { type Ignore } from "ignore";
import { mapLimit } from "../data-plane/concurrency.js";
import { DEFAULT_LIMITS, limitProblem, type Limits } from "../data-plane/limits.js";
import { manifestDigest, normalizeMode } from "../data-plane/manifest.js";
import type { SourceEntry } from "../data-plane/upload.js";
import { HashCache } from "./hash-cache.js";

export class SnapshotError extends Error {}

export interface DirSnapshot {
  readonly digest: string;
  readonly entries: readonly SourceEntry[];
  readonly totalBytes: number;
  /** Which ignore file was honoured, if any. */
  readonly ignoreFile?: ".amlignore" | ".gitignore";
  /** Relative paths left out by the ignore file (directories end with a slash). */
  readonly ignored: string[];
  /** Files whose hash came from the cache (unchanged since they were last hashed): not read. */
  readonly unchangedFiles: number;
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

interface Found { rel: string; abs: string; size: number; mode: number }

function nameOf(raw: Buffer, dirRel: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw new SnapshotError(`${dirRel || "."}: a file name is not valid UTF-8 (${raw.toString("latin1")}); rename it or leave it out with .amlignore`);
  }
}

/** What a directory entry is, following a symlink only when it points at a regular file. */
function kindOf(abs: string, rel: string): { st: Stats; dir: boolean } {
  const l = lstatSync(abs);
  if (!l.isSymbolicLink()) return { st: l, dir: l.isDirectory() };
  let target: Stats;
  try {
    target = statSync(abs);
  } catch {
    throw new SnapshotError(`${rel} is a dangling symbolic link; remove it or leave it out with .amlignore`);
  }
  if (target.isDirectory()) throw new SnapshotError(`${rel} is a symbolic link to a directory; snapshots follow links to files only (copy the directory or leave the link out with .amlignore)`);
  return { st: target, dir: false };
}

function walk(root: string, dirRel: string, ig: Ignore, out: { files: Found[]; ignored: string[] }): void {
  const names = readdirSync(join(root, dirRel), { encoding: "buffer" }).map((raw) => nameOf(raw, dirRel)).sort();
  for (const name of names) {
    const rel = dirRel ? `${dirRel}/${name}` : name;
    const abs = join(root, rel);
    const { st, dir } = kindOf(abs, rel);
    const key = dir ? `${rel}/` : rel;
    if (ig.ignores(key)) { out.ignored.push(key); continue; }
    if (dir) { walk(root, rel, ig, out); continue; }
    if (!st.isFile()) throw new SnapshotError(`${rel} is not a regular file (socket, FIFO or device); leave it out with .amlignore`);
    out.files.push({ rel, abs, size: st.size, mode: normalizeMode(st.mode) });
  }
}

async function sha256File(abs: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export const HASH_CONCURRENCY = 8;

/** The sha256 of a file, from the cache when its size, mtime and inode are the ones hashed before. */
async function hashOf(abs: string, cache: HashCache): Promise<string> {
  const key = resolve(abs);
  const st = statSync(abs, { bigint: true });
  const stat = { size: Number(st.size), mtimeNs: st.mtimeNs, ino: st.ino };
  const known = cache.get(key, stat);
  if (known) return known;
  const sha256 = await sha256File(abs);
  cache.set(key, stat, sha256);
  return sha256;
}

export interface SnapshotOptions {
  readonly limits?: Limits;
  /** Remembered hashes (the plugin's user cache); default: none, every file is read. */
  readonly cache?: HashCache;
}

/**
 * Reads `root` into a snapshot: limits are checked on sizes before any content is read (so an
 * oversized tree fails at once, naming its largest files), then every file is hashed — or its hash
 * taken from the cache when the file is unchanged since it was last hashed.
 */
export async function snapshotDirectory(root: string, opts: SnapshotOptions = {}): Promise<DirSnapshot> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const cache = opts.cache ?? HashCache.load(undefined);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new SnapshotError(`${root} is not a directory`);
  const { matcher, file } = loadIgnore(root);
  const out = { files: [] as Found[], ignored: [] as string[] };
  walk(root, "", matcher, out);
  if (out.files.length === 0) throw new SnapshotError(`${root} has no files to submit (after ${file ?? "ignore rules"})`);
  const tooLarge = limitProblem(out.files.map((f) => ({ path: f.rel, size: f.size })), limits);
  if (tooLarge) throw new SnapshotError(tooLarge);
  const entries = await mapLimit(out.files, HASH_CONCURRENCY, async (f): Promise<SourceEntry> => ({
    path: f.rel, mode: f.mode, size: f.size, sha256: await hashOf(f.abs, cache),
    read: () => readFile(f.abs),
  }));
  cache.save();
  return {
    digest: manifestDigest(entries),
    entries,
    totalBytes: entries.reduce((n, e) => n + e.size, 0),
    ...(file ? { ignoreFile: file } : {}),
    ignored: out.ignored,
    unchangedFiles: cache.hits,
  };
}
