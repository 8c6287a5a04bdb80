import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteVmProvider, type RemoteVmHandle } from "../../../src/providers/ssh/index.js";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import type { ProviderContext } from "../../../src/providers/types.js";
import { type TestSshd } from "../../support/sshd.js";
import { aRemoteVmTarget, aSubmission, observeUntilDone, startVm, withMaxConcurrentRuns, withWorkDir } from "./fixtures.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("RemoteVM runs: detached execution over a real sshd", () => {
  let sshd: TestSshd;
  let target: ComputeTarget;
  let ctx: ProviderContext;
  const entry = createRemoteVmProvider({ idleTimeoutMs: 5_000 });
  const executor = entry.executor!;

  beforeAll(async () => {
    ({ sshd, target, ctx } = await startVm({ workDir: "work-runs", credentials: "key" }));
  });
  afterAll(async () => { entry.pool.closeAll(); await sshd?.stop(); });

  it("runs a script that prints and exits 0: Succeeded with its output", async () => {
    const sub = aSubmission({
      target, files: { "train.py": "import sys, os\nprint('hello from', os.environ['AML_RUN_ID'])\nprint('args', sys.argv[1:])\nopen(os.path.join(os.environ['AML_OUTPUT_DIR'], 'model.txt'), 'w').write('m')\n" },
      args: ["--lr", "0.1", "it's $(not) `expanded`; rm -rf /", "two\nlines"],
    });
    const handle = await executor.submit(sub, ctx);
    const { obs } = await observeUntilDone(executor, sub, handle, { ctx });
    expect(obs).toMatchObject({ state: "Succeeded", exitCode: 0, links: { remoteRunDir: (handle as RemoteVmHandle).runDir } });
    expect(obs.outputTail).toContain(`hello from ${sub.runId}`);
    expect(obs.outputTail).toContain(`args ['--lr', '0.1', "it's $(not) \`expanded\`; rm -rf /", 'two\\nlines']`);
    expect(sshd.runAsUser(`cat ${(handle as RemoteVmHandle).runDir}/outputs/model.txt`)).toBe("m");
  });

  it("runs a script that exits 3: Failed, ScriptFailed, exit code 3, output tail kept", async () => {
    const sub = aSubmission({ target, files: { "train.py": "import sys\nprint('about to fail')\nsys.exit(3)\n" } });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx });
    expect(obs).toMatchObject({ state: "Failed", exitCode: 3, reason: "ScriptFailed" });
    expect(obs.outputTail).toContain("about to fail");
  });

  it("runs a command (no interpreter added) with the configured environment variables", async () => {
    const sub = aSubmission({
      target, files: { "data.txt": "x" },
      command: ["bash", "-c", "echo \"$GREETING\" && ls"],
      config: { environmentVariables: { GREETING: "hi 'there' $HOME" } },
    });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx });
    expect(obs.state).toBe("Succeeded");
    expect(obs.outputTail).toContain("hi 'there' $HOME\ndata.txt");
  });

  it("keeps only the last 8 KiB of output, cut at a line start", async () => {
    const sub = aSubmission({ target, files: { "train.py": "for i in range(5000):\n    print('line', i)\n" } });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx });
    expect(Buffer.byteLength(obs.outputTail ?? "")).toBeLessThanOrEqual(8192);
    expect(obs.outputTail).toMatch(/^(line \d+|\[aml)/);
    expect(obs.outputTail).toContain("line 4999\n");
  });

  it("starts one process when submit is repeated concurrently and after an operator restart", async () => {
    const sub = aSubmission({
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
    const sub = aSubmission({ target, files: { "train.py": "import time\nprint('start', flush=True)\ntime.sleep(4)\nprint('done')\n" } });
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

  it("uploads no file content for a second run of an unchanged source, and only changed files later", async () => {
    const files = { "train.py": "print('v1')\n", "lib/model.py": "W = 1\n" + "#".repeat(10_000) + "\n", "data/big.txt": "y".repeat(50_000) };
    const first = (await executor.submit(aSubmission({ target, files }), ctx)) as RemoteVmHandle;
    expect(first.upload).toMatchObject({ files: 3, snapshotReused: false });
    expect(first.upload.bytes).toBeGreaterThanOrEqual(60_000);
    const second = (await executor.submit(aSubmission({ target, files }), ctx)) as RemoteVmHandle;
    expect(second.upload).toMatchObject({ files: 0, bytes: 0, snapshotReused: true });
    const changed = (await executor.submit(aSubmission({ target, files: { ...files, "train.py": "print('v2')\n" } }), ctx)) as RemoteVmHandle;
    expect(changed.upload).toMatchObject({ files: 1, bytes: Buffer.byteLength("print('v2')\n"), reusedFiles: 2 });
  });

  it("cancels a running attempt: the process group is killed and the attempt ends Canceled", async () => {
    const sub = aSubmission({ target, command: ["bash", "-c", "sleep 300 & sleep 301; wait"], files: { "a": "a" } });
    const handle = await executor.submit(sub, ctx);
    await sleep(1_000);
    await executor.cancel({ ...sub, handle: handle }, ctx);
    await executor.cancel({ ...sub, handle: handle }, ctx); // idempotent
    const { obs } = await observeUntilDone(executor, sub, handle, { ctx, timeoutMs: 20_000 });
    expect(obs).toMatchObject({ state: "Failed", reason: "Canceled" });
    expect(sshd.runAsUser("pgrep -u $(id -u) -f 'sleep 30[01]' || true").trim()).toBe("");
  });

  it("enforces maxRunDurationSeconds: DeadlineExceeded", async () => {
    const sub = aSubmission({ target, command: ["sleep", "60"], files: { "a": "a" }, config: { maxRunDurationSeconds: 2 } });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx, timeoutMs: 30_000 });
    expect(obs).toMatchObject({ state: "Failed", reason: "DeadlineExceeded" });
  });

  it("queues attempts beyond maxConcurrentRuns and starts them in order when a slot frees", async () => {
    const queuedTarget = aRemoteVmTarget(sshd, withWorkDir("work-queue"), withMaxConcurrentRuns(1));
    const subs = [1, 2, 3].map((i) => aSubmission({ target: queuedTarget, files: { "train.py": `import time\ntime.sleep(1)\nprint('run ${i}')\n` } }));
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
    const busy = aSubmission({ target: queuedTarget, command: ["sleep", "60"], files: { "a": "a" } });
    const waiting = aSubmission({ target: queuedTarget, command: ["true"], files: { "a": "a" } });
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
    const sub = aSubmission({ target, command: ["sleep", "60"], files: { "a": "a" } });
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    await sleep(800);
    sshd.runAsUser(`kill -KILL $(cat ${handle.runDir}/pid) && kill -KILL -- -$(cat ${handle.runDir}/child_pgid)`);
    await sleep(200);
    expect(await executor.observe({ ...sub, handle: handle }, ctx)).toMatchObject({ state: "Lost" });
  });

  it("cleanup removes the run directory and is idempotent", async () => {
    const sub = aSubmission({ target, command: ["true"], files: { "a": "a" } });
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    await observeUntilDone(executor, sub, handle, { ctx });
    await executor.cleanup({ ...sub, target: target, handle: handle }, ctx);
    await executor.cleanup({ ...sub, target: target, handle: handle }, ctx);
    expect(sshd.runAsUser(`test -e ${handle.runDir} && echo present || echo gone`).trim()).toBe("gone");
    expect(await executor.observe({ ...sub, handle: handle }, ctx)).toMatchObject({ state: "Lost" });
  });
});
