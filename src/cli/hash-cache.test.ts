import { mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Of } from "../data-plane/manifest.js";
import { defaultHashCachePath, HashCache } from "./hash-cache.js";
import { snapshotDirectory } from "./snapshot-dir.js";

/** A tree whose files are old enough not to be "racily clean" (mtime well before hashing). */
function oldTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "hash-cache-"));
  const past = new Date(Date.now() - 60_000);
  for (const [p, c] of Object.entries(files)) {
    writeFileSync(join(root, p), c);
    utimesSync(join(root, p), past, past);
  }
  return root;
}

describe("the plugin's hash cache", () => {
  it("does not read a file again whose size, mtime and inode are unchanged; reads it when one of them changes", async () => {
    const root = oldTree({ "a.py": "print(1)\n", "b.bin": "bbbb" });
    const file = join(mkdtempSync(join(tmpdir(), "cache-")), "hashes.json");
    const first = await snapshotDirectory(root, { cache: HashCache.load(file) });
    expect(first.unchangedFiles).toBe(0);

    // Same size, same mtime, same inode, other bytes: only a read could notice, and none happens.
    const st = statSync(join(root, "b.bin"));
    writeFileSync(join(root, "b.bin"), "cccc");
    utimesSync(join(root, "b.bin"), st.atime, st.mtime);
    const second = await snapshotDirectory(root, { cache: HashCache.load(file) });
    expect(second.unchangedFiles).toBe(2);
    expect(second.entries.find((e) => e.path === "b.bin")?.sha256).toBe(sha256Of("bbbb"));

    // An edit that changes the mtime is read again.
    const later = new Date(Date.now() - 30_000);
    utimesSync(join(root, "b.bin"), later, later);
    const third = await snapshotDirectory(root, { cache: HashCache.load(file) });
    expect(third.unchangedFiles).toBe(1);
    expect(third.entries.find((e) => e.path === "b.bin")?.sha256).toBe(sha256Of("cccc"));
  });

  it("does not remember a file modified in the same moment it was hashed (racily clean)", async () => {
    const root = mkdtempSync(join(tmpdir(), "hash-cache-"));
    writeFileSync(join(root, "fresh.py"), "x = 1\n");
    const file = join(mkdtempSync(join(tmpdir(), "cache-")), "hashes.json");
    await snapshotDirectory(root, { cache: HashCache.load(file) });
    expect((await snapshotDirectory(root, { cache: HashCache.load(file) })).unchangedFiles).toBe(0);
  });

  it("treats a damaged cache file as empty and lives in the user's cache directory", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "cache-")), "hashes.json");
    writeFileSync(file, "{not json");
    const s = await snapshotDirectory(oldTree({ "a.py": "1" }), { cache: HashCache.load(file) });
    expect(s.entries).toHaveLength(1);
    expect(JSON.parse(readFileSync(file, "utf8")).version).toBe(1);
    expect(defaultHashCachePath({ XDG_CACHE_HOME: "/x/cache" })).toBe("/x/cache/aml-compute-operator/hashes.json");
    expect(defaultHashCachePath({ HOME: "/home/u" })).toMatch(/\.cache\/aml-compute-operator\/hashes\.json$/);
  });
});
