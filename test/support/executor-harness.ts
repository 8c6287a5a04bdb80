// Shared by provider-level executor tests: an Attempt as the controller builds it, and a
// poll loop that plays the controller's observe cadence.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Io } from "../../src/cli/commands.js";
import { download } from "../../src/cli/download.js";
import type { CliKube } from "../../src/cli/kube.js";
import { snapshotDirectory } from "../../src/cli/snapshot-dir.js";
import type { OutputsStatus } from "../../src/api/v1alpha1/index.js";
import { verdictOf } from "../../src/data-plane/run-data.js";
import { expect } from "vitest";
import { sourceTree, WEIGHTS } from "./source-tree.js";
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../src/api/v1alpha1/index.js";
import { dataPlaneEnv } from "../../src/data-plane/config.js";
import { DataPlane, runIdentity } from "../../src/data-plane/data-plane.js";
import type { BlobStore } from "../../src/data-plane/store.js";
import { entriesOfBuffers, uploadSnapshot, type SnapshotUpload } from "../../src/data-plane/upload.js";
import type { ProviderContext, RunExecutor, RunObservation, Attempt } from "../../src/providers/types.js";
import { buildSnapshot } from "../../src/snapshot/build.js";

export interface SubmissionSpec {
  target: ComputeTarget;
  files: Record<string, string>;
  argv: string[];
  attempt?: number;
  config?: Partial<RunConfigurationSpec>;
}

export function anAttempt(s: SubmissionSpec): Attempt {
  const run = {
    apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun",
    metadata: { name: `train-${randomUUID().slice(0, 6)}`, namespace: s.target.metadata.namespace, uid: randomUUID(), generation: 1 },
    spec: {},
  } as unknown as TrainingRun;
  return {
    run, target: s.target, number: s.attempt ?? 1, handle: undefined, runId: `exp_${run.metadata.uid!.slice(0, 8)}`,
    config: { computeTargetRef: { name: s.target.metadata.name ?? "" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...s.config },
    snapshot: buildSnapshot(Object.entries(s.files).map(([path, content]) => ({ path, content }))),
    environmentHash: "sha256:env", argv: s.argv, interpreterNeeded: true,
  };
}

/**
 * The attempt with its snapshot in `store` (through the product's upload, so the digest is the one
 * the plugin computes) and its AttemptStorage as the controller hands it to executors.
 */
export async function storedAttempt(a: Attempt, store: BlobStore, files: Record<string, string | Buffer>, modes: Record<string, number> = {}): Promise<Attempt> {
  return (await uploadedAttempt(a, store, files, modes)).attempt;
}

/** storedAttempt, plus what the upload sent (the benchmark's "bytes uploaded"). */
export async function uploadedAttempt(a: Attempt, store: BlobStore, files: Record<string, string | Buffer>, modes: Record<string, number> = {}): Promise<{ attempt: Attempt; upload: SnapshotUpload }> {
  const entries = entriesOfBuffers(Object.entries(files).map(([path, c]) => ({ path, content: Buffer.from(c), ...(modes[path] ? { mode: modes[path] } : {}) })));
  const up = await uploadSnapshot(store, entries);
  const storage = new DataPlane(dataPlaneEnv({})).attemptStorage(store, { run: runIdentity(a.run.metadata), attempt: a.number, digest: up.digest }, () => new Date());
  return { attempt: { ...a, snapshot: { digest: up.digest, files: [], totalBytes: up.bytes }, storage }, upload: up };
}

export const ended = (o: RunObservation): boolean => o.state === "Succeeded" || o.state === "Failed" || o.state === "Lost";

/** Observes until `done` holds, waiting what the executor asks between polls. */
export async function observeUntil(
  at: { executor: RunExecutor; ctx: () => ProviderContext; sub: Attempt; handle: unknown },
  done: (o: RunObservation) => boolean, timeoutMs = 30_000,
): Promise<RunObservation> {
  const { executor, ctx } = at;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await executor.observe({ ...at.sub, handle: at.handle }, ctx());
    if (done(o)) return o;
    if (Date.now() > deadline) throw new Error(`timed out; last observation ${JSON.stringify(o)}`);
    await new Promise((r) => setTimeout(r, o.pollAfterMs ?? 100));
  }
}

/** Calls release as the controller does once an attempt ended, until it reports done. */
export async function releaseUntilDone(executor: RunExecutor, a: Attempt, ctx: () => ProviderContext, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await executor.release?.(a, ctx());
    if (!r || r.done) return;
    if (Date.now() > deadline) throw new Error("release did not finish");
    await new Promise((res) => setTimeout(res, r.requeueAfterMs ?? 200));
  }
}

/**
 * The data plane's round trip on one target: the nested tree (support/source-tree.ts) goes into
 * the store the way `kubectl aml submit DIR` sends it, the executor runs train.py (which checks
 * its working directory against the digest and writes outputs), the controller's verdict gives
 * status.outputs, and `kubectl aml download`'s code fetches the outputs back into a directory.
 */
export async function treeRoundTrip(at: { executor: RunExecutor; ctx: () => ProviderContext; sub: Attempt; store: BlobStore }): Promise<{
  observation: RunObservation; outputs: OutputsStatus | undefined; downloaded: string;
}> {
  const snap = await snapshotDirectory(sourceTree());
  const up = await uploadSnapshot(at.store, snap.entries);
  const run = at.sub.run;
  const sub: Attempt = {
    ...at.sub, argv: ["train.py"], interpreterNeeded: true,
    snapshot: { digest: up.digest, files: [], totalBytes: up.bytes },
    storage: new DataPlane(dataPlaneEnv({})).attemptStorage(at.store, { run: runIdentity(run.metadata), attempt: at.sub.number, digest: up.digest }, () => new Date()),
  };
  const handle = await at.executor.submit(sub, at.ctx());
  const observation = await observeUntil({ executor: at.executor, ctx: at.ctx, sub, handle }, ended, 60_000);
  if (at.executor.collectsOutputsOnRelease) await releaseUntilDone(at.executor, { ...sub, handle }, at.ctx);
  const result = await new DataPlane(dataPlaneEnv({})).readResult(at.store, runIdentity(run.metadata), sub.number);
  const outputs = result ? verdictOf(at.store.settings.containers.runs, run, sub.number, result).outputs : undefined;
  const downloaded = mkdtempSync(join(tmpdir(), "dp-download-"));
  const kube = { getRun: async () => ({ ...run, status: { outputs, attempts: sub.number } }) } as unknown as CliKube;
  const quiet = { out: new PassThrough(), err: new PassThrough() } as unknown as Io;
  await download(kube, async () => at.store, { name: run.metadata.name ?? "", dir: downloaded }, quiet);
  return { observation, outputs, downloaded };
}

/** What every target must show after treeRoundTrip: the exact tree ran, outputs came back byte-exact. */
export function expectTreeKept(r: Awaited<ReturnType<typeof treeRoundTrip>>): void {
  expect(r.observation, r.observation.outputTail).toMatchObject({ state: "Succeeded", exitCode: 0 });
  expect(r.observation.outputTail).toContain("files 8");
  expect(r.observation.outputTail).toContain("digest ok");
  expect(r.outputs).toMatchObject({ attempt: 1, files: 2, bytes: WEIGHTS.length + Buffer.byteLength("naïve ✓") });
  expect(JSON.stringify(r.outputs)).not.toMatch(/sig=|AccountKey/);
  expect(readFileSync(join(r.downloaded, "outputs/model.bin"))).toEqual(Buffer.from(WEIGHTS).reverse());
  expect(readFileSync(join(r.downloaded, "outputs/ü/résumé.txt"), "utf8")).toBe("naïve ✓");
  expect(readFileSync(join(r.downloaded, "logs/output.log"), "utf8")).toContain("wrote outputs");
}

/**
 * For a cancel test on a target that stops tasks with SIGKILL: waits until the runner's periodic
 * upload has put ./outputs (and a provisional result.json) in the store; returns the result's
 * reader for after the cancel.
 */
export async function outputsSynced(store: BlobStore, a: Attempt, timeoutMs = 30_000): Promise<() => ReturnType<DataPlane["readResult"]>> {
  const dp = new DataPlane(dataPlaneEnv({}));
  const read = () => dp.readResult(store, runIdentity(a.run.metadata), a.number);
  const deadline = Date.now() + timeoutMs;
  while (!(await read())?.outputs?.files) {
    if (Date.now() > deadline) throw new Error("the runner uploaded no outputs while the command ran");
    await new Promise((r) => setTimeout(r, 250));
  }
  return read;
}

/** A script that leaves a checkpoint in ./outputs, says it started, and runs until stopped. */
export const CHECKPOINT_THEN_SLEEP = "import os, time\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/partial.ckpt', 'w').write('epoch 1')\nprint('started', flush=True)\ntime.sleep(60)\n";
