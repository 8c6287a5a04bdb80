import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { manifestDigest, sha256Of } from "../data-plane/manifest.js";
import { snapshotDirectory } from "./snapshot-dir.js";
import { buildRun, formatTable, namePrefix } from "./commands.js";

const dirs: string[] = [];
function tree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), "snap-"));
  dirs.push(root);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), c);
  }
  return root;
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const paths = (s: { entries: readonly { path: string }[] }) => s.entries.map((f) => f.path);

describe("snapshotDirectory", () => {
  it("honours .amlignore over .gitignore, always drops .git/, and keeps nested files", async () => {
    const root = tree({ "a.py": "1", "pkg/b.py": "2", "out/x.log": "3", "c.log": "4", ".git/HEAD": "ref", ".amlignore": "*.log\n!keep.log\n", "keep.log": "5", ".gitignore": "pkg/\n" });
    const s = await snapshotDirectory(root);
    expect(s.ignoreFile).toBe(".amlignore");
    expect(paths(s)).toEqual([".amlignore", ".gitignore", "a.py", "keep.log", "pkg/b.py"]);
    expect(s.ignored.sort()).toEqual([".git/", "c.log", "out/x.log"]);
  });

  it("falls back to .gitignore and ignores whole directories", async () => {
    const s = await snapshotDirectory(tree({ "a.py": "1", "data/d.csv": "2", ".gitignore": "data/\n" }));
    expect(s.ignoreFile).toBe(".gitignore");
    expect(paths(s)).toEqual([".gitignore", "a.py"]);
  });

  it("takes binary files, non-ASCII names and empty files, keeps exec bits, and digests like the store", async () => {
    const bin = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const root = tree({ "run.sh": "#!/bin/sh\n", "w.bin": bin, "données/é.txt": "é", "empty": "" });
    chmodSync(join(root, "run.sh"), 0o750);
    const s = await snapshotDirectory(root);
    expect(s.entries.map((e) => [e.path, e.mode, e.size])).toEqual([["donn\u00e9es/\u00e9.txt", 0o644, 2], ["empty", 0o644, 0], ["run.sh", 0o755, 10], ["w.bin", 0o644, 4]]);
    expect(s.entries.find((e) => e.path === "w.bin")?.sha256).toBe(sha256Of(bin));
    expect(s.digest).toBe(manifestDigest(s.entries));
    expect(await s.entries[3]!.read()).toEqual(bin);
  });

  it("follows links to files and refuses links to directories and dangling links, naming them", async () => {
    const root = tree({ "real.txt": "x", "sub/a.txt": "a" });
    symlinkSync("real.txt", join(root, "alias.txt"));
    const s = await snapshotDirectory(root);
    expect(s.entries.find((e) => e.path === "alias.txt")?.sha256).toBe(sha256Of("x"));
    symlinkSync("sub", join(root, "subdir-link"));
    await expect(snapshotDirectory(root)).rejects.toThrow(/subdir-link is a symbolic link to a directory/);
    rmSync(join(root, "subdir-link"));
    symlinkSync("missing", join(root, "dangling"));
    await expect(snapshotDirectory(root)).rejects.toThrow(/dangling is a dangling symbolic link/);
  });

  it("refuses a tree over 300 MiB before reading it, naming the largest files (sparse files, nothing written)", async () => {
    const root = tree({ "train.py": "print(1)\n", "ckpt/model.pt": "", "data/big.npy": "" });
    truncateSync(join(root, "ckpt/model.pt"), 200 * 1024 * 1024);
    truncateSync(join(root, "data/big.npy"), 150 * 1024 * 1024);
    await expect(snapshotDirectory(root)).rejects.toThrow(/350\.0 MiB in 3 files, over the limit of 300\.0 MiB\. Largest files: ckpt\/model\.pt \(200\.0 MiB\), data\/big\.npy \(150\.0 MiB\)/);
  });

  it("refuses more than 2,000 files", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2001; i++) files[`f/${i}.txt`] = "";
    await expect(snapshotDirectory(tree(files))).rejects.toThrow(/2001 files, over the limit of 2000/);
  });
});

describe("plugin helpers", () => {
  it("derives a DNS-1123 generateName prefix from the directory", () => {
    expect(namePrefix("/tmp/My_Project.v2/")).toBe("my-project-v2-");
  });

  it("builds a TrainingRun naming the snapshot, with a RunConfiguration ref, a target override and arguments", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const run = buildRun({ dir: "/x/mnist", script: "train.py", config: "gpu", target: "local", args: ["--lr", "0.1"], wait: false }, "ml", digest);
    expect(run.metadata).toMatchObject({ generateName: "mnist-", namespace: "ml" });
    expect(run.spec).toMatchObject({ source: { snapshot: { digest } }, script: "train.py", arguments: ["--lr", "0.1"], runConfigurationRef: { name: "gpu" }, runConfiguration: { computeTargetRef: { name: "local" } } });
  });

  it("formats a kubectl-style table", () => {
    expect(formatTable(["NAME", "TYPE"], [["local", "Local"]])).toBe("NAME    TYPE\nlocal   Local\n");
  });
});
