// Shared by provider-level executor tests: an Attempt as the controller builds it, and a
// poll loop that plays the controller's observe cadence.
import { randomUUID } from "node:crypto";
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../src/api/v1alpha1/index.js";
import { dataPlaneEnv } from "../../src/data-plane/config.js";
import { DataPlane, runIdentity } from "../../src/data-plane/data-plane.js";
import type { BlobStore } from "../../src/data-plane/store.js";
import { entriesOfBuffers, uploadSnapshot } from "../../src/data-plane/upload.js";
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
  const entries = entriesOfBuffers(Object.entries(files).map(([path, c]) => ({ path, content: Buffer.from(c), ...(modes[path] ? { mode: modes[path] } : {}) })));
  const up = await uploadSnapshot(store, entries);
  const storage = new DataPlane(dataPlaneEnv({})).attemptStorage(store, { run: runIdentity(a.run.metadata), attempt: a.number, digest: up.digest }, () => new Date());
  return { ...a, snapshot: { digest: up.digest, files: [], totalBytes: up.bytes }, storage };
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
