// The stdlib-only Python runner, spawned as targets spawn it, against a real Azurite through SAS
// URLs: verify-then-materialize, exact trees, tee'd log, outputs on success, failure and SIGTERM,
// and a tampered object that stops everything before the command runs.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Azurite } from "../../azure-emulator/azurite.js";
import { DataPlane } from "../../../src/data-plane/data-plane.js";
import { dataPlaneEnv } from "../../../src/data-plane/config.js";
import { attemptPrefix, DEFAULT_CONTAINERS, objectBlobName } from "../../../src/data-plane/layout.js";
import { sha256Of } from "../../../src/data-plane/manifest.js";
import { runnerArgv, RunnerExit } from "../../../src/data-plane/runner/index.js";
import { verdictOf } from "../../../src/data-plane/run-data.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { entriesOfBuffers, uploadSnapshot } from "../../../src/data-plane/upload.js";
import { connectionStringOf } from "./support.js";
import { startAzurite } from "../../azure-emulator/azurite.js";

const RUNNER = join(import.meta.dirname, "../../../src/data-plane/runner/aml_runner.py");
const BINARY = randomBytes(70_000);

const SCRIPT = `import hashlib, os, sys, json
files = []
for d, dirs, names in os.walk("."):
    for n in names:
        p = os.path.join(d, n)[2:]
        st = os.stat(p)
        files.append([p, oct(st.st_mode & 0o777), hashlib.sha256(open(p, "rb").read()).hexdigest()])
files.sort()
print(json.dumps(files, ensure_ascii=False))
print("to stderr", file=sys.stderr)
os.makedirs("outputs/deep/ü", exist_ok=True)
open("outputs/model.bin", "wb").write(open("data/weights.bin", "rb").read())
open("outputs/deep/ü/näme.txt", "w").write("ok")
open("outputs/empty", "w").close()
sys.exit(int(sys.argv[1]))
`;

const TREE = [
  { path: "train.py", content: Buffer.from(SCRIPT) },
  { path: "run.sh", content: Buffer.from("#!/bin/sh\necho hi\n"), mode: 0o755 },
  { path: "data/weights.bin", content: BINARY },
  { path: "a/b/c/d.txt", content: Buffer.from("deep") },
  { path: "naïve/日本語.txt", content: Buffer.from("utf8 name") },
  { path: "empty.txt", content: Buffer.alloc(0) },
  { path: "dup.bin", content: BINARY },
];

interface Spawned { code: number | null; stdout: string; stderr: string }

function runner(args: string[], env: Record<string, string>, opts: { killAfterMs?: number; onStdout?: (s: string, kill: () => void) => void } = {}): Promise<Spawned> {
  return new Promise((resolve) => {
    const child = spawn(args[0]!, args.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      opts.onStdout?.(stdout, () => child.kill("SIGTERM"));
    });
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("aml_runner.py against Azurite", () => {
  let az: Azurite;
  let store: BlobStore;
  let dp: DataPlane;
  let digest = "";
  let n = 0;
  const run = { namespace: "ns", name: "runner", uid: "u" };

  beforeAll(async () => {
    az = await startAzurite();
    dp = new DataPlane(dataPlaneEnv({ AML_STORE_CONNECTION_STRING: connectionStringOf(az) }));
    store = await dp.storeFor("ns", async () => undefined);
    digest = (await uploadSnapshot(store, entriesOfBuffers(TREE))).digest;
  });
  afterAll(async () => az?.close());

  const attemptEnv = async (attempt: number, d = digest) => dp.runnerEnv(store, { run, attempt, digest: d }, new Date());

  it("materializes the exact tree, runs the command there, and keeps outputs, log and result", async () => {
    const attempt = ++n;
    const work = join(mkdtempSync(join(tmpdir(), "runner-")), "work");
    const log = join(tmpdir(), `runner-log-${attempt}`);
    const res = await runner([...runnerArgv("all", { script: RUNNER, workdir: work, log }, ["python3", "train.py", "3"])], await attemptEnv(attempt));
    expect(res.code).toBe(3);
    const seen = JSON.parse(res.stdout.split("\n")[0]!) as [string, string, string][];
    expect(seen).toEqual(TREE.map((f) => [f.path, f.mode ? "0o755" : "0o644", sha256Of(f.content)]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    expect(res.stdout).toContain("to stderr");
    expect(readFileSync(log, "utf8")).toContain("to stderr");
    const prefix = attemptPrefix(run, attempt);
    expect(await store.readRunBlob(`${prefix}outputs/model.bin`)).toEqual(BINARY);
    expect((await store.readRunBlob(`${prefix}outputs/deep/ü/näme.txt`))?.toString()).toBe("ok");
    expect((await store.readRunBlob(`${prefix}outputs/empty`))?.length).toBe(0);
    expect((await store.readRunBlob(`${prefix}logs/output.log`))?.toString()).toContain("to stderr");
    const result = await dp.readResult(store, run, attempt);
    expect(result).toMatchObject({ reason: "ScriptFailed", exitCode: 3, executed: true, outputs: { files: 3, bytes: BINARY.length + 2 }, snapshot: { digest, verified: true, files: 7 } });
    expect(res.stderr).not.toMatch(/sig=/);
  });

  it("does not hand the SAS URLs to the command", async () => {
    const work = mkdtempSync(join(tmpdir(), "runner-env-"));
    const res = await runner(runnerArgv("all", { script: RUNNER, workdir: join(work, "w") }, ["python3", "-c", "import os; print(sorted(k for k in os.environ if k.startswith('AML_')))"]), await attemptEnv(++n));
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("AML_SNAPSHOT_DIGEST");
    expect(res.stdout).not.toContain("AML_SNAPSHOT_URL");
    expect(res.stdout).not.toContain("AML_OUTPUT_URL");
  });

  it("forwards SIGTERM to the command and still uploads its outputs", async () => {
    const attempt = ++n;
    const work = join(mkdtempSync(join(tmpdir(), "runner-term-")), "w");
    const code = "import signal, sys, time, os\nos.makedirs('outputs', exist_ok=True)\ndef bye(*a):\n    open('outputs/checkpoint.txt','w').write('saved on SIGTERM')\n    sys.exit(0)\nsignal.signal(signal.SIGTERM, bye)\nprint('ready', flush=True)\ntime.sleep(60)\n";
    const res = await runner(runnerArgv("all", { script: RUNNER, workdir: work }, ["python3", "-c", code]), await attemptEnv(attempt), {
      onStdout: (s, kill) => { if (s.includes("ready")) kill(); },
    });
    expect(res.code).toBe(0);
    expect((await store.readRunBlob(`${attemptPrefix(run, attempt)}outputs/checkpoint.txt`))?.toString()).toBe("saved on SIGTERM");
    expect(await dp.readResult(store, run, attempt)).toMatchObject({ reason: "Canceled", exitCode: 0, outputs: { files: 1 } });
  });

  it("with --sync-outputs, keeps what ./outputs held before a SIGKILL (a target that stops tasks without a signal first)", async () => {
    const attempt = ++n;
    const dir = mkdtempSync(join(tmpdir(), "runner-kill-"));
    const code = "import os, time\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/epoch1.ckpt', 'w').write('weights after epoch 1')\nprint('ready', flush=True)\ntime.sleep(60)\n";
    const pidFile = join(dir, "command.pid");
    const argv = runnerArgv("all", { script: RUNNER, workdir: join(dir, "w"), syncOutputsSeconds: 0.5, pidFile }, ["python3", "-c", code]);
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...await attemptEnv(attempt) }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    await new Promise<void>((resolve) => child.stdout.on("data", (b: Buffer) => { if (b.toString().includes("ready")) resolve(); }));
    const prefix = attemptPrefix(run, attempt);
    for (let i = 0; i < 50 && !await store.readRunBlob(`${prefix}result.json`); i++) await new Promise((r) => setTimeout(r, 200));
    // Runner and command at once (the command has its own process group): no final upload.
    process.kill(-child.pid!, "SIGKILL");
    process.kill(-Number(readFileSync(pidFile, "utf8").trim()), "SIGKILL");
    await new Promise((r) => child.on("exit", r));
    expect((await store.readRunBlob(`${prefix}outputs/epoch1.ckpt`))?.toString()).toBe("weights after epoch 1");
    const result = await dp.readResult(store, run, attempt);
    expect(result).toMatchObject({ reason: "Running", provisional: true, outputs: { files: 1, bytes: "weights after epoch 1".length } });
    expect(verdictOf(DEFAULT_CONTAINERS.runs, { metadata: { namespace: run.namespace, name: run.name, uid: run.uid } } as never, attempt, result!).outputs?.message).toContain("periodic upload");
  });

  it("writes the command's process group id to --pid-file, so a supervisor can stop it without the runner", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-pid-"));
    const pidFile = join(dir, "command.pid");
    const res = await runner(runnerArgv("all", { script: RUNNER, workdir: join(dir, "w"), pidFile }, ["python3", "-c", "import os; print('pgid', os.getpgid(0))"]), await attemptEnv(++n));
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`pgid ${readFileSync(pidFile, "utf8").trim()}`);
  });

  it("refuses a tampered object before anything runs: SnapshotCorrupt, empty working dir", async () => {
    const tampered = (await uploadSnapshot(store, entriesOfBuffers([
      { path: "main.py", content: Buffer.from("open('/tmp/should-not-exist-' + 'x', 'w')\n") },
      { path: "data.bin", content: Buffer.from("original bytes") },
    ]))).digest;
    await store.service.getContainerClient(DEFAULT_CONTAINERS.snapshots).getBlockBlobClient(objectBlobName(sha256Of("original bytes"))).uploadData(Buffer.from("tampered bytes"));
    const attempt = ++n;
    const dir = mkdtempSync(join(tmpdir(), "runner-bad-"));
    const marker = join(dir, "ran");
    const term = join(dir, "termination");
    writeFileSync(term, "");
    const res = await runner(runnerArgv("all", { script: RUNNER, workdir: join(dir, "w"), terminationLog: term }, ["python3", "-c", `open(${JSON.stringify(marker)}, "w")`]), await attemptEnv(attempt, tampered));
    expect(res.code).toBe(RunnerExit.SnapshotCorrupt);
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(join(dir, "w"))).toEqual([]);
    expect(readFileSync(term, "utf8")).toMatch(/^SnapshotCorrupt: data\.bin/);
    expect(await dp.readResult(store, run, attempt)).toMatchObject({ reason: "SnapshotCorrupt", executed: false, snapshot: { verified: false } });
  });

  it("refuses a digest whose manifest is not in the store, and a non-empty working directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-missing-"));
    const missing = await runner(runnerArgv("materialize", { script: RUNNER, workdir: join(dir, "w") }), await attemptEnv(++n, `sha256:${"1".repeat(64)}`));
    expect(missing.code).toBe(RunnerExit.SnapshotUnavailable);
    writeFileSync(join(dir, "stray"), "x");
    const busy = await runner(runnerArgv("materialize", { script: RUNNER, workdir: dir }), await attemptEnv(++n));
    expect(busy.code).toBe(RunnerExit.RunnerFailed);
    expect(busy.stderr).toContain("not empty");
  });

  it("uploads a large output in blocks", async () => {
    const attempt = ++n;
    const work = join(mkdtempSync(join(tmpdir(), "runner-big-")), "w");
    const res = await runner(runnerArgv("all", { script: RUNNER, workdir: work }, ["python3", "-c", "import os\nos.makedirs('outputs')\nf=open('outputs/big.bin','wb')\nf.write(bytes(range(256))*(70*4096))\n"]), await attemptEnv(attempt));
    expect(res.code).toBe(0);
    const big = await store.readRunBlob(`${attemptPrefix(run, attempt)}outputs/big.bin`);
    expect(big?.length).toBe(256 * 70 * 4096);
    expect(sha256Of(big!)).toBe(sha256Of(Buffer.alloc(256 * 70 * 4096).map((_, i) => i % 256)));
    expect(statSync(join(work, "outputs/big.bin")).size).toBe(big?.length);
  });

  it("keeps every metric report in metrics.jsonl: lines split across writes, prefixed, stepless, malformed ones skipped", async () => {
    const attempt = ++n;
    const work = join(mkdtempSync(join(tmpdir(), "runner-metrics-")), "w");
    // The "acc" line is written in two parts with a pause, so the runner sees it in two chunks.
    const script = String.raw`import json, sys, time
for i in range(300):
    print("AML_METRIC", json.dumps({"name": "loss", "value": 1.0 / (i + 1), "step": i}))
sys.stdout.write('[rank0]: AML_METRIC {"name": "acc", ')
sys.stdout.flush()
time.sleep(0.3)
sys.stdout.write('"value": 0.5}\n')
print("AML_METRIC", json.dumps({"name": "acc", "value": 0.75}))
print('AML_METRIC {"name": "bad", "value": NaN}')
print('AML_METRIC {"name": "bad", "value": 1} trailing')
print('AML_METRIC {"name": "bad", "value": true}', file=sys.stderr)
print('AML_METRIC {"name": "err", "value": 2, "step": 7}', file=sys.stderr)
`;
    const res = await runner(runnerArgv("all", { script: RUNNER, workdir: work }, ["python3", "-c", script]), await attemptEnv(attempt));
    expect(res.code, res.stderr).toBe(0);
    const blob = await store.readRunBlob(`${attemptPrefix(run, attempt)}metrics.jsonl`);
    const records = (blob?.toString() ?? "").trim().split("\n").map((l) => JSON.parse(l) as { name: string; value: number; step: number; timestamp: number; source: string });
    expect(records.filter((r) => r.name === "loss").map((r) => r.step)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(records.filter((r) => r.name === "acc").map((r) => [r.value, r.step])).toEqual([[0.5, 0], [0.75, 1]]);
    expect(records.find((r) => r.name === "err")).toMatchObject({ value: 2, step: 7, source: "output" });
    expect(records.some((r) => r.name === "bad")).toBe(false);
    expect(records.every((r) => r.source === "output" && r.timestamp > 1.7e12)).toBe(true);
    expect(await dp.readResult(store, run, attempt)).toMatchObject({ metrics: { blob: "metrics.jsonl", records: 303 } });
  });

  it("writes no metrics.jsonl when the script reported nothing", async () => {
    const attempt = ++n;
    const res = await runner(runnerArgv("all", { script: RUNNER, workdir: join(mkdtempSync(join(tmpdir(), "runner-nometrics-")), "w") }, ["python3", "-c", "print('AML_METRIC_NOT a metric')"]), await attemptEnv(attempt));
    expect(res.code).toBe(0);
    expect(await store.readRunBlob(`${attemptPrefix(run, attempt)}metrics.jsonl`)).toBeUndefined();
  });
});
