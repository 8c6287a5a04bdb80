/**
 * The plugin's memory of file hashes, so a re-submit does not re-read files that did not change:
 * (absolute path, size, mtime in ns, inode) → sha256, kept in the user's cache directory
 * (`$XDG_CACHE_HOME/aml-compute-operator/hashes.json`, else `~/.cache/…`), as git's index keeps
 * stat data beside each blob id. An entry whose mtime is within RACY_MS of the moment it was hashed
 * is not kept: a write in the same clock tick could change the bytes and leave the stat data
 * equal ("racily clean", as git calls it). The cache only saves reading; a missing or unreadable
 * cache file means hashing everything, never an error.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

const VERSION = 1;
const RACY_MS = 2_000;
/** Entries kept at most (the most recently used): a cache of hashes, not an index of the disk. */
const MAX_ENTRIES = 50_000;

/** What stat gives of a file, with the mtime in nanoseconds (bigint stat). */
export interface FileStat { readonly size: number; readonly mtimeNs: bigint; readonly ino: bigint }

type Entry = [size: number, mtimeNs: string, ino: string, sha256: string];

export function defaultHashCachePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "aml-compute-operator", "hashes.json");
}

export class HashCache {
  private readonly entries = new Map<string, Entry>();
  private dirty = false;
  hits = 0;

  private constructor(private readonly file: string | undefined) {}

  /** The cache at `file` (an empty one when it is absent or unreadable); `undefined`: a cache kept in memory only. */
  static load(file: string | undefined): HashCache {
    const cache = new HashCache(file);
    if (!file) return cache;
    try {
      const data = JSON.parse(readFileSync(file, "utf8")) as { version?: number; entries?: Record<string, Entry> };
      if (data.version === VERSION && data.entries) for (const [k, v] of Object.entries(data.entries)) cache.entries.set(k, v);
    } catch {
      // absent or damaged: start empty
    }
    return cache;
  }

  /** The sha256 remembered for this exact file state, if any. */
  get(path: string, st: FileStat): string | undefined {
    const e = this.entries.get(path);
    if (!e || e[0] !== st.size || e[1] !== st.mtimeNs.toString() || e[2] !== st.ino.toString()) return undefined;
    // Most recently used last, so trimming drops the oldest.
    this.entries.delete(path);
    this.entries.set(path, e);
    this.hits++;
    return e[3];
  }

  /** Remembers `sha256` for the file state it was computed from (unless that state is racily new). */
  set(path: string, st: FileStat, sha256: string, hashedAtMs: number = Date.now()): void {
    if (hashedAtMs - Number(st.mtimeNs / 1_000_000n) < RACY_MS) return;
    this.entries.delete(path);
    this.entries.set(path, [st.size, st.mtimeNs.toString(), st.ino.toString(), sha256]);
    this.dirty = true;
  }

  /** Writes the cache (atomically: a new file renamed over the old one); failures are ignored. */
  save(): void {
    if (!this.file || !this.dirty) return;
    const kept = [...this.entries].slice(-MAX_ENTRIES);
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: VERSION, entries: Object.fromEntries(kept) }), { mode: 0o600 });
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      // a read-only home: the next submit hashes again
    }
  }
}
