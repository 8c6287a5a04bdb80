import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteVmProvider, type RemoteVmHandle } from "../../../src/providers/ssh/index.js";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import type { ProviderContext } from "../../../src/providers/types.js";
import { type TestSshd } from "../../support/sshd.js";
import type { Azurite } from "../../azure-emulator/azurite.js";
import { DataPlane, runIdentity } from "../../../src/data-plane/data-plane.js";
import { dataPlaneEnv, storeSettings } from "../../../src/data-plane/config.js";
import { attemptPrefix, DEFAULT_CONTAINERS, objectBlobName } from "../../../src/data-plane/layout.js";
import { sha256Of } from "../../../src/data-plane/manifest.js";
import { BlobStore } from "../../../src/data-plane/store.js";
import { expectTreeKept, observeUntil, treeRoundTrip } from "../../support/executor-harness.js";
import { connectionStringOf, storeOnAzurite } from "../data-plane/support.js";
import { aRemoteVmTarget, aStoredSubmission, observeUntilDone, startVm, withMaxConcurrentRuns, withWorkDir, type SubmissionInput } from "./fixtures.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("RemoteVM runs: detached execution over a real sshd", () => {
  let sshd: TestSshd;
  let target: ComputeTarget;
  let ctx: ProviderContext;
  let az: Azurite;
  let store: BlobStore;
  const entry = createRemoteVmProvider({ idleTimeoutMs: 5_000 });
  const executor = entry.executor!;
  const submission = (input: SubmissionInput) => aStoredSubmission(store, input);

  beforeAll(async () => {
    ({ az, store } = await storeOnAzurite());
    ({ sshd, target, ctx } = await startVm({ workDir: "work-runs", credentials: "key" }));
  });
  afterAll(async () => { entry.pool.closeAll(); await sshd?.stop(); await az?.close(); });

  it("runs a script that prints and exits 0: Succeeded with its output", async () => {
    const sub = await submission({
      target, files: { "train.py": "import sys, os\nprint('hello from', os.environ['AML_RUN_ID'])\nprint('args', sys.argv[1:])\nos.makedirs(os.environ['AML_OUTPUT_DIR'])\nopen(os.path.join(os.environ['AML_OUTPUT_DIR'], 'model.txt'), 'w').write('m')\n" },
      args: ["--lr", "0.1", "it's $(not) `expanded`; rm -rf /", "two\nlines"],
    });
    const handle = await executor.submit(sub, ctx);
    const { obs } = await observeUntilDone(executor, sub, handle, { ctx });
    expect(obs).toMatchObject({ state: "Succeeded", exitCode: 0, links: { remoteRunDir: (handle as RemoteVmHandle).runDir } });
    expect(obs.outputTail).toContain(`hello from ${sub.runId}`);
    expect(obs.outputTail).toContain(`args ['--lr', '0.1', "it's $(not) \`expanded\`; rm -rf /", 'two\\nlines']`);
    expect(sshd.runAsUser(`cat ${(handle as RemoteVmHandle).runDir}/src/outputs/model.txt`)).toBe("m");
    expect((await store.readRunBlob(`${attemptPrefix(runIdentity(sub.run.metadata), 1)}outputs/model.txt`))?.toString()).toBe("m");
  });

  it("runs a script that exits 3: Failed, ScriptFailed, exit code 3, output tail kept", async () => {
    const sub = await submission({ target, files: { "train.py": "import sys\nprint('about to fail')\nsys.exit(3)\n" } });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx });
    expect(obs).toMatchObject({ state: "Failed", exitCode: 3, reason: "ScriptFailed" });
    expect(obs.outputTail).toContain("about to fail");
  });

  it("runs a command (no interpreter added) with the configured environment variables", async () => {
    const sub = await submission({
      target, files: { "data.txt": "x" },
      command: ["bash", "-c", "echo \"$GREETING\" && ls"],
      config: { environmentVariables: { GREETING: "hi 'there' $HOME" } },
    });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx });
    expect(obs.state).toBe("Succeeded");
    expect(obs.outputTail).toContain("hi 'there' $HOME\ndata.txt");
  });

  it("keeps only the last 8 KiB of output, cut at a line start", async () => {
    const sub = await submission({ target, files: { "train.py": "for i in range(5000):\n    print('line', i)\n" } });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx });
    expect(Buffer.byteLength(obs.outputTail ?? "")).toBeLessThanOrEqual(8192);
    expect(obs.outputTail).toMatch(/^(line \d+|\[aml)/);
    expect(obs.outputTail).toContain("line 4999\n");
  });

  it("starts one process when submit is repeated concurrently and after an operator restart", async () => {
    const sub = await submission({
      target, files: { "train.py": "import os, time\nopen(os.path.expanduser('~/starts-' + os.environ['AML_RUN_ID']), 'a').write('x')\ntime.sleep(2)\n" },
    });
    const [a, b] = await Promise.all([executor.submit(sub, ctx), executor.submit(sub, ctx)]);
    // A new provider instance = a restarted operator with an empty pool and only the persisted handle.
    const restarted = createRemoteVmProvider();
    const c = await restarted.executor!.submit(sub, ctx);
    restarted.pool.closeAll();
    expect([a, b, c].map((h) => (h as RemoteVmHandle).admission).sort()).toEqual(["already", "already", "started"]);
    const { obs } = await observeUntilDone(executor, sub, a, { ctx });
    expect(obs.state).toBe("Succeeded");
    expect(sshd.runAsUser(`cat ~/starts-${sub.runId}`)).toBe("x");
  });

  it("survives the SSH connection being cut mid-run and sshd restarting: the run completes", async () => {
    const sub = await submission({ target, files: { "train.py": "import time\nprint('start', flush=True)\ntime.sleep(4)\nprint('done')\n" } });
    const handle = await executor.submit(sub, ctx);
    let obs = await executor.observe({ ...sub, handle: handle }, ctx);
    for (let i = 0; obs.state !== "Running" && i < 40; i++) { await sleep(100); obs = await executor.observe({ ...sub, handle: handle }, ctx); }
    expect(obs.state).toBe("Running");
    sshd.killSessions(); // every live connection (including the pooled one) drops
    await sshd.restart();
    const { obs: end } = await observeUntilDone(executor, sub, handle, { ctx });
    expect(end).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect(end.outputTail).toContain("start\ndone\n");
  });

  it("runs the submitted tree exactly as written in a writable directory, and keeps its outputs byte-exact", async () => {
    expectTreeKept(await treeRoundTrip({ executor, ctx: () => ctx, sub: await submission({ target, files: {} }), store }));
  });

  it("hands the store's URLs over in a 0600 file that is gone once the command started, never on a command line", async () => {
    const sub = await submission({ target, files: { "train.py": [
      "import os, subprocess",
      "ps = subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True).stdout.splitlines()",
      "print('runner on a command line', any('aml_runner' in l for l in ps))",
      "print('SAS on a command line', any('sig' + '=' in l for l in ps))",
      "print(sorted(k for k in os.environ if k.startswith('AML_')))",
    ].join("\n") } });
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    const { obs } = await observeUntilDone(executor, sub, handle, { ctx });
    expect(obs.state).toBe("Succeeded");
    expect(obs.outputTail).toContain("runner on a command line True\nSAS on a command line False\n");
    expect(obs.outputTail).toContain("AML_SNAPSHOT_DIGEST");
    expect(obs.outputTail).not.toMatch(/AML_SNAPSHOT_URL|AML_OUTPUT_URL|sig=/);
    expect(sshd.runAsUser(`test -e ${handle.runDir}/store.env && echo present || echo gone`).trim()).toBe("gone");
    expect(sshd.runAsUser(`grep -rl 'sig=' ${handle.runDir} || true`).trim()).toBe("");
    // The runner is shipped once per version, next to the launcher.
    expect(sshd.runAsUser("ls work-runs/bin").split("\n").filter((f) => f.startsWith("aml_runner-"))).toHaveLength(1);
  });

  it("fails a snapshot whose stored object was tampered with as SnapshotCorrupt before anything runs", async () => {
    const data = `original ${randomUUID()}`;
    const sub = await submission({ target, files: { "train.py": "print('THE SCRIPT RAN')\n", "data.bin": data } });
    await store.service.getContainerClient(DEFAULT_CONTAINERS.snapshots).getBlockBlobClient(objectBlobName(sha256Of(data))).uploadData(Buffer.from("tampered"));
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    const { obs } = await observeUntilDone(executor, sub, handle, { ctx });
    expect(obs).toMatchObject({ state: "Failed", reason: "SnapshotCorrupt", message: expect.stringContaining("data.bin") });
    expect(obs.outputTail).not.toContain("THE SCRIPT RAN");
    expect(sshd.runAsUser(`ls -A ${handle.runDir}/src`).trim()).toBe("");
  });

  it("fails with SnapshotUnavailable, naming what it could not read, when the VM cannot reach the store: nothing ran", async () => {
    // The operator reaches the store; the VM is given an address where nothing listens.
    const unreachable = new BlobStore(storeSettings({ connectionString: connectionStringOf(az), targetUrl: "http://127.0.0.1:9/devstoreaccount1" }, "test", store.settings));
    const sub = await submission({ target, files: { "train.py": "print('THE SCRIPT RAN')\n" } });
    const cut = { ...sub, storage: new DataPlane(dataPlaneEnv({})).attemptStorage(unreachable, { run: runIdentity(sub.run.metadata), attempt: 1, digest: sub.snapshot.digest }, () => new Date()) };
    const { obs } = await observeUntilDone(executor, cut, await executor.submit(cut, ctx), { ctx, timeoutMs: 90_000 });
    expect(obs).toMatchObject({ state: "Failed", reason: "SnapshotUnavailable" });
    expect(obs.exitCode).toBeUndefined();
    expect(obs.message).toMatch(/nothing ran: SnapshotUnavailable: reading the manifest/);
    expect(obs.outputTail).not.toContain("THE SCRIPT RAN");
    expect(obs.message).not.toMatch(/sig=|127\.0\.0\.1:9/);
  }, 120_000);

  it("cancels a running attempt: the process group is killed and the attempt ends Canceled", async () => {
    const sub = await submission({ target, command: ["bash", "-c", "sleep 300 & sleep 301; wait"], files: { "a": "a" } });
    const handle = await executor.submit(sub, ctx);
    await sleep(1_000);
    await executor.cancel({ ...sub, handle: handle }, ctx);
    await executor.cancel({ ...sub, handle: handle }, ctx); // idempotent
    const { obs } = await observeUntilDone(executor, sub, handle, { ctx, timeoutMs: 20_000 });
    expect(obs).toMatchObject({ state: "Failed", reason: "Canceled" });
    expect(sshd.runAsUser("pgrep -u $(id -u) -f 'sleep 30[01]' || true").trim()).toBe("");
  });

  it("keeps the outputs of an attempt canceled while running (the runner uploads after SIGTERM)", async () => {
    const sub = await submission({ target, files: { "train.py": "import os, time\nos.makedirs('outputs')\nopen('outputs/partial.txt', 'w').write('checkpoint')\nprint('working', flush=True)\ntime.sleep(300)\n" } });
    const handle = await executor.submit(sub, ctx);
    let obs = await executor.observe({ ...sub, handle }, ctx);
    for (let i = 0; !(obs.outputTail ?? "").includes("working") && i < 100; i++) { await sleep(200); obs = await executor.observe({ ...sub, handle }, ctx); }
    await executor.cancel({ ...sub, handle }, ctx);
    const { obs: end } = await observeUntilDone(executor, sub, handle, { ctx, timeoutMs: 30_000 });
    expect(end).toMatchObject({ state: "Failed", reason: "Canceled" });
    const result = await new DataPlane(dataPlaneEnv({})).readResult(store, runIdentity(sub.run.metadata), 1);
    expect(result).toMatchObject({ reason: "Canceled", executed: true, outputs: { files: 1, bytes: "checkpoint".length } });
    expect((await store.readRunBlob(`${attemptPrefix(runIdentity(sub.run.metadata), 1)}outputs/partial.txt`))?.toString()).toBe("checkpoint");
    expect((await store.readRunBlob(`${attemptPrefix(runIdentity(sub.run.metadata), 1)}logs/output.log`))?.toString()).toContain("working");
  });

  it("enforces maxRunDurationSeconds: DeadlineExceeded", async () => {
    const sub = await submission({ target, command: ["sleep", "60"], files: { "a": "a" }, config: { maxRunDurationSeconds: 2 } });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx, timeoutMs: 30_000 });
    expect(obs).toMatchObject({ state: "Failed", reason: "DeadlineExceeded" });
  });

  it("queues attempts beyond maxConcurrentRuns and starts them in order when a slot frees", async () => {
    const queuedTarget = aRemoteVmTarget(sshd, withWorkDir("work-queue"), withMaxConcurrentRuns(1));
    const subs = await Promise.all([1, 2, 3].map((i) => submission({ target: queuedTarget, files: { "train.py": `import time\ntime.sleep(1)\nprint('run ${i}')\n` } })));
    const handles: RemoteVmHandle[] = [];
    for (const s of subs) handles.push((await executor.submit(s, ctx)) as RemoteVmHandle);
    expect(handles.map((h) => h.admission)).toEqual(["started", "queued", "queued"]);
    expect((await executor.observe({ ...subs[2]!, handle: handles[2]! }, ctx))).toMatchObject({ state: "Queued" });
    const ends = await Promise.all(subs.map((s, i) => observeUntilDone(executor, s, handles[i]!, { ctx, timeoutMs: 60_000 })));
    expect(ends.map((e) => e.obs.state)).toEqual(["Succeeded", "Succeeded", "Succeeded"]);
    const started = subs.map((s) => Number(sshd.runAsUser(`stat -c %Y work-queue/runs/${s.run.metadata.uid}/1/started`)));
    expect([...started].sort((a, b) => a - b)).toEqual(started);
  });

  it("cancels a queued attempt before it starts", async () => {
    const queuedTarget = aRemoteVmTarget(sshd, withWorkDir("work-queue-cancel"), withMaxConcurrentRuns(1));
    const busy = await submission({ target: queuedTarget, command: ["sleep", "60"], files: { "a": "a" } });
    const waiting = await submission({ target: queuedTarget, command: ["true"], files: { "a": "a" } });
    const busyHandle = await executor.submit(busy, ctx);
    const waitingHandle = (await executor.submit(waiting, ctx)) as RemoteVmHandle;
    expect(waitingHandle.admission).toBe("queued");
    await executor.cancel({ ...waiting, handle: waitingHandle }, ctx);
    expect(await executor.observe({ ...waiting, handle: waitingHandle }, ctx)).toMatchObject({ state: "Failed", reason: "Canceled" });
    expect(((await executor.submit(waiting, ctx)) as RemoteVmHandle).admission).toBe("canceled");
    await executor.cancel({ ...busy, handle: busyHandle }, ctx);
    expect((await observeUntilDone(executor, busy, busyHandle, { ctx, timeoutMs: 20_000 })).obs).toMatchObject({ reason: "Canceled" });
  });

  it("reports an attempt whose launcher was killed as Lost", async () => {
    const sub = await submission({ target, command: ["sleep", "60"], files: { "a": "a" } });
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    await observeUntil({ executor, ctx: () => ctx, sub, handle }, (o) => o.state === "Running", 20_000);
    sshd.runAsUser(`kill -KILL $(cat ${handle.runDir}/pid) && kill -KILL -- -$(cat ${handle.runDir}/child_pgid) -$(cat ${handle.runDir}/command_pgid)`);
    await sleep(200);
    expect(await executor.observe({ ...sub, handle: handle }, ctx)).toMatchObject({ state: "Lost" });
  });

  it("cleanup removes the run directory and is idempotent", async () => {
    const sub = await submission({ target, command: ["true"], files: { "a": "a" } });
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    await observeUntilDone(executor, sub, handle, { ctx });
    await executor.cleanup({ ...sub, target: target, handle: handle }, ctx);
    await executor.cleanup({ ...sub, target: target, handle: handle }, ctx);
    expect(sshd.runAsUser(`test -e ${handle.runDir} && echo present || echo gone`).trim()).toBe("gone");
    expect(await executor.observe({ ...sub, handle: handle }, ctx)).toMatchObject({ state: "Lost" });
  });
});
