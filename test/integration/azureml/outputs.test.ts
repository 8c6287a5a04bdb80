// The run data plane on AmlCompute against the ARM emulator and Azurite: the snapshot from the run
// store becomes the job's code (any bytes, nested tree), the runner adopts the working directory
// Azure ML wrote before anything runs, and release copies the job's outputs and log from the
// workspace's artifact store into the run store — after success, failure and cancel.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../../src/api/v1alpha1/index.js";
import { dataPlaneEnv } from "../../../src/data-plane/config.js";
import { DataPlane, runIdentity } from "../../../src/data-plane/data-plane.js";
import { attemptPrefix, DEFAULT_CONTAINERS, objectBlobName } from "../../../src/data-plane/layout.js";
import { verdictOf } from "../../../src/data-plane/run-data.js";
import { azureJobName, type AmlHandle } from "../../../src/providers/azureml/executor.js";
import type { Attempt } from "../../../src/providers/types.js";
import { anAttempt, ended, expectTreeKept, observeUntil, releaseUntilDone, storedAttempt, treeRoundTrip } from "../../support/executor-harness.js";
import { makeRun, makeTarget, reconcileUntil, startEnv, WS, type Env } from "./harness.js";

const CONFIG = { computeTargetRef: { name: "cpu" }, framework: "Python", nodeCount: 1, processCountPerNode: 1 } as RunConfigurationSpec;

describe("AmlCompute run data plane (emulator + Azurite)", () => {
  let env: Env;
  let target: ComputeTarget;
  const dataPlane = new DataPlane(dataPlaneEnv({}));
  const ctx = () => env.ctx();
  const executor = () => env.provider().executor;

  beforeAll(async () => {
    env = await startEnv({ withAzurite: true, provisioningMs: 300, jobStepMs: 50 });
    ({ target } = await reconcileUntil(env, env.provider(), makeTarget("cpu"), { until: (o) => o.ready.status === "True" }));
  });
  afterAll(async () => {
    await env?.close();
  });

  const attemptOf = (run: TrainingRun, files: Record<string, string>, argv: string[]): Promise<Attempt<AmlHandle>> =>
    storedAttempt({ ...anAttempt({ target, files, argv, config: CONFIG }), run, environmentHash: `sha256:${createHash("sha256").update("env").digest("hex")}` }, env.store!, files) as Promise<Attempt<AmlHandle>>;

  const result = async (a: Attempt) => dataPlane.readResult(env.store!, runIdentity(a.run.metadata), a.number);

  it("runs the nested tree (binary file, non-ASCII names, empty file, exec bit) exactly as written and keeps its outputs", async () => {
    const sub = anAttempt({ target, files: {}, argv: [], config: CONFIG });
    const run = makeRun("tree");
    const r = await treeRoundTrip({ executor: env.provider().executor, ctx, sub: { ...sub, run }, store: env.store! });
    expectTreeKept(r);
    // The job carries no SAS: its properties are readable by everyone with access to the workspace.
    const body = JSON.stringify(env.emu.controls.job(WS, azureJobName(run, 1))?.body);
    expect(body).toContain("adopt --manifest");
    expect(body).not.toMatch(/sig=|AccountKey|SharedAccessSignature/);
  });

  it("fails a job whose code differs from the snapshot before anything runs: SnapshotCorrupt, no retry-worthy exit code", async () => {
    const files = { "main.py": "print('THE SCRIPT RAN')\n", "data.bin": `original ${Date.now()}` };
    const a = await attemptOf(makeRun("tampered"), files, ["main.py"]);
    const manifest = await env.store!.getManifest(a.snapshot.digest);
    const victim = manifest!.files.find((f) => f.path === "data.bin")!;
    await env.store!.service.getContainerClient(DEFAULT_CONTAINERS.snapshots).getBlockBlobClient(objectBlobName(victim.sha256)).uploadData(Buffer.from("tampered"));
    const handle = await executor().submit(a, ctx());
    const last = await observeUntil({ executor: executor(), ctx, sub: a, handle }, ended, 60_000);
    expect(last).toMatchObject({ state: "Failed", reason: "SnapshotCorrupt" });
    expect(last.message).toContain("data.bin");
    expect(last.exitCode).toBeUndefined();
    expect(last.outputTail ?? "").not.toContain("THE SCRIPT RAN");
    await releaseUntilDone(executor(), { ...a, handle }, ctx);
    const r = await result(a);
    expect(r).toMatchObject({ reason: "SnapshotCorrupt", executed: false });
    expect(verdictOf(DEFAULT_CONTAINERS.runs, a.run, 1, r!).notExecuted?.reason).toBe("SnapshotCorrupt");
  });

  it("keeps the outputs and log of a failed job", async () => {
    const files = { "fail.py": "import os, sys\nos.makedirs('outputs/a/b')\nopen('outputs/a/b/state.bin', 'wb').write(bytes(range(256)))\nprint('failing now')\nsys.exit(4)\n" };
    const a = await attemptOf(makeRun("failed-outputs"), files, ["fail.py"]);
    const handle = await executor().submit(a, ctx());
    expect(await observeUntil({ executor: executor(), ctx, sub: a, handle }, ended, 60_000)).toMatchObject({ state: "Failed", exitCode: 4 });
    await releaseUntilDone(executor(), { ...a, handle }, ctx);
    expect(await result(a)).toMatchObject({ reason: "ScriptFailed", executed: true, exitCode: 4, outputs: { files: 1, bytes: 256 } });
    const prefix = attemptPrefix(runIdentity(a.run.metadata), 1);
    expect(await env.store!.readRunBlob(`${prefix}outputs/a/b/state.bin`)).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    expect((await env.store!.readRunBlob(`${prefix}logs/output.log`))?.toString()).toContain("failing now");
    // A second release finds result.json and writes nothing again.
    const before = await env.store!.service.getContainerClient(DEFAULT_CONTAINERS.runs).getBlobClient(`${prefix}result.json`).getProperties();
    await releaseUntilDone(executor(), { ...a, handle }, ctx);
    const after = await env.store!.service.getContainerClient(DEFAULT_CONTAINERS.runs).getBlobClient(`${prefix}result.json`).getProperties();
    expect(after.etag).toBe(before.etag);
  });

  it("keeps the outputs of a job canceled while running (Azure ML uploads ./outputs after the cancel)", async () => {
    const files = { "train.py": "import os, time\nos.makedirs('outputs')\nopen('outputs/partial.txt', 'w').write('checkpoint')\nprint('working', flush=True)\ntime.sleep(120)\n" };
    const a = await attemptOf(makeRun("canceled"), files, ["train.py"]);
    const handle = await executor().submit(a, ctx());
    await observeUntil({ executor: executor(), ctx, sub: a, handle }, (o) => o.outputTail?.includes("working") ?? false, 60_000);
    await executor().cancel({ ...a, handle }, ctx());
    expect(await observeUntil({ executor: executor(), ctx, sub: a, handle }, ended, 60_000)).toMatchObject({ state: "Failed", reason: "Canceled" });
    await releaseUntilDone(executor(), { ...a, handle }, ctx);
    expect(await result(a)).toMatchObject({ reason: "Canceled", outputs: { files: 1, bytes: "checkpoint".length } });
    expect((await env.store!.readRunBlob(`${attemptPrefix(runIdentity(a.run.metadata), 1)}outputs/partial.txt`))?.toString()).toBe("checkpoint");
    expect(env.emu.controls.job(WS, handle.jobName)?.status).toBe("Canceled");
  });
});
