// The runner's adopt mode, spawned as an Azure ML command job would run it: a working directory
// another service wrote is checked against the manifest (exact set of files, bytes) before the
// command starts; the modes come from the manifest; any difference runs nothing (exit 86).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalManifestBytes, digestOfBytes, sha256Of } from "../../../src/data-plane/manifest.js";
import { RunnerExit, runnerRefusal } from "../../../src/data-plane/runner/index.js";

const RUNNER = join(import.meta.dirname, "../../../src/data-plane/runner/aml_runner.py");
const FILES: Record<string, Buffer> = {
  "train.py": Buffer.from("open('ran', 'w').write('yes')\nprint('the script ran')\n"),
  "bin/run.sh": Buffer.from("#!/bin/sh\necho hi\n"),
  "naïve/日本語.txt": Buffer.from("utf8 name"),
  "data/w.bin": randomBytes(5000),
  "empty.txt": Buffer.alloc(0),
};

/** A working directory as the service leaves it (modes lost) and the manifest file of the snapshot. */
function setUp(): { wd: string; manifest: string; digest: string } {
  const root = mkdtempSync(join(tmpdir(), "adopt-"));
  const wd = join(root, "wd");
  for (const [p, c] of Object.entries(FILES)) {
    mkdirSync(dirname(join(wd, p)), { recursive: true });
    writeFileSync(join(wd, p), c, { mode: 0o600 });
  }
  const bytes = canonicalManifestBytes(Object.entries(FILES).map(([path, c]) => ({ path, mode: path.endsWith(".sh") ? 0o755 : 0o644, size: c.length, sha256: sha256Of(c) })));
  writeFileSync(join(root, "manifest.json"), bytes);
  return { wd, manifest: join(root, "manifest.json"), digest: digestOfBytes(bytes) };
}

const adopt = (s: ReturnType<typeof setUp>, digest = s.digest) => spawnSync("python3", [RUNNER, "adopt", "--manifest", s.manifest, "--workdir", s.wd, "--", "python3", "train.py"], {
  cwd: s.wd, encoding: "utf8", env: { ...process.env, AML_SNAPSHOT_DIGEST: digest },
});

describe("aml_runner.py adopt", () => {
  it("runs the command once the directory matches the manifest, with the manifest's modes", () => {
    const s = setUp();
    const r = adopt(s);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("the script ran");
    expect(statSync(join(s.wd, "bin/run.sh")).mode & 0o777).toBe(0o755);
    expect(statSync(join(s.wd, "empty.txt")).mode & 0o777).toBe(0o644);
  });

  it.each([
    ["a changed file", (wd: string) => writeFileSync(join(wd, "data/w.bin"), "tampered"), "data/w.bin"],
    ["an extra file", (wd: string) => writeFileSync(join(wd, "extra.txt"), "x"), "extra.txt"],
    ["a missing file", (wd: string) => rmSync(join(wd, "empty.txt")), "empty.txt"],
  ])("refuses %s: SnapshotCorrupt, nothing runs", (_what, spoil, named) => {
    const s = setUp();
    spoil(s.wd);
    const r = adopt(s);
    expect(r.status).toBe(RunnerExit.SnapshotCorrupt);
    expect(r.stderr).toMatch(/aml-runner: SnapshotCorrupt: /);
    expect(r.stderr).toContain(named);
    expect(existsSync(join(s.wd, "ran"))).toBe(false);
  });

  it("lets the processes of a distributed job share the directory: one verifies, none sees another's outputs", async () => {
    const s = setUp();
    writeFileSync(join(s.wd, "train.py"), "import os\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/rank-%s' % os.environ['RANK'], 'w').write('x')\n");
    const bytes = canonicalManifestBytes(Object.entries({ ...FILES, "train.py": Buffer.from(readFileSync(join(s.wd, "train.py"))) })
      .map(([path, c]) => ({ path, mode: path.endsWith(".sh") ? 0o755 : 0o644, size: c.length, sha256: sha256Of(c) })));
    writeFileSync(s.manifest, bytes);
    const rank = (n: number) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn("python3", [RUNNER, "adopt", "--manifest", s.manifest, "--workdir", s.wd, "--", "python3", "train.py"], {
        cwd: s.wd, env: { ...process.env, AML_SNAPSHOT_DIGEST: digestOfBytes(bytes), RANK: String(n) },
      });
      let stderr = "";
      c.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      c.on("close", (code) => resolve({ code, stderr }));
    });
    const results = await Promise.all([0, 1, 2, 3].map(rank));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect([0, 1, 2, 3].every((n) => existsSync(join(s.wd, `outputs/rank-${n}`)))).toBe(true);
  });

  it("says why it ran nothing in a line the operator reads back from a service-kept log", () => {
    const s = setUp();
    writeFileSync(join(s.wd, "data/w.bin"), "tampered");
    const r = adopt(s);
    expect(runnerRefusal(r.stderr, r.status ?? undefined)).toMatchObject({ reason: "SnapshotCorrupt", message: expect.stringContaining("data/w.bin") });
    expect(runnerRefusal(r.stderr, 1)).toBeUndefined();
  });

  it("refuses a manifest that is not the run's digest", () => {
    const s = setUp();
    const r = adopt(s, `sha256:${"0".repeat(64)}`);
    expect(r.status).toBe(RunnerExit.SnapshotCorrupt);
    expect(existsSync(join(s.wd, "ran"))).toBe(false);
  });
});
