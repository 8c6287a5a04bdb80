import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildSnapshot } from "../snapshot/build.js";
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

describe("snapshotDirectory", () => {
  it("honours .amlignore over .gitignore, always drops .git/, and keeps nested files", () => {
    const root = tree({ "a.py": "1", "pkg/b.py": "2", "out/x.log": "3", "c.log": "4", ".git/HEAD": "ref", ".amlignore": "*.log\n!keep.log\n", "keep.log": "5", ".gitignore": "pkg/\n" });
    const s = snapshotDirectory(root);
    expect(s.ignoreFile).toBe(".amlignore");
    expect(s.files.map((f) => f.path)).toEqual([".amlignore", ".gitignore", "a.py", "keep.log", "pkg/b.py"]);
    expect(s.ignored.sort()).toEqual([".git/", "c.log", "out/x.log"]);
  });

  it("falls back to .gitignore and ignores whole directories", () => {
    const s = snapshotDirectory(tree({ "a.py": "1", "data/d.csv": "2", ".gitignore": "data/\n" }));
    expect(s.ignoreFile).toBe(".gitignore");
    expect(s.files.map((f) => f.path)).toEqual([".gitignore", "a.py"]);
  });

  it("has the digest buildSnapshot gives (the operator's), with 0755 only for executables", () => {
    const root = tree({ "run.sh": "#!/bin/sh\n", "a.py": "print(1)\n" });
    chmodSync(join(root, "run.sh"), 0o755);
    const s = snapshotDirectory(root);
    expect(s.files.find((f) => f.path === "run.sh")?.mode).toBe(0o755);
    expect(s.files.find((f) => f.path === "a.py")?.mode).toBeUndefined();
    expect(s.digest).toBe(buildSnapshot([{ path: "a.py", content: "print(1)\n" }, { path: "run.sh", content: "#!/bin/sh\n", mode: 0o755 }]).digest);
  });

  it("refuses sources over 900 KiB and binary files, pointing at source.blob", () => {
    expect(() => snapshotDirectory(tree({ "big.txt": "x".repeat(901 * 1024) }))).toThrow(/900 KiB.*source\.blob/);
    expect(() => snapshotDirectory(tree({ "w.bin": Buffer.from([0xff, 0xfe, 0x00]) }))).toThrow(/w\.bin is not UTF-8.*source\.blob/);
  });
});

describe("plugin helpers", () => {
  it("derives a DNS-1123 generateName prefix from the directory", () => {
    expect(namePrefix("/tmp/My_Project.v2/")).toBe("my-project-v2-");
  });

  it("builds a TrainingRun with a RunConfiguration ref, a target override and arguments", () => {
    const run = buildRun({ dir: "/x/mnist", script: "train.py", config: "gpu", target: "local", args: ["--lr", "0.1"], wait: false }, "ml", { files: [{ path: "train.py", content: "" }] });
    expect(run.metadata).toMatchObject({ generateName: "mnist-", namespace: "ml" });
    expect(run.spec).toMatchObject({ script: "train.py", arguments: ["--lr", "0.1"], runConfigurationRef: { name: "gpu" }, runConfiguration: { computeTargetRef: { name: "local" } } });
  });

  it("formats a kubectl-style table", () => {
    expect(formatTable(["NAME", "TYPE"], [["local", "Local"]])).toBe("NAME    TYPE\nlocal   Local\n");
  });
});
