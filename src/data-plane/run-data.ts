/**
 * What the TrainingRun controller asks of the data plane, in one place: the run's snapshot before
 * its first attempt, an attempt's storage for the executor, the attempt's result once it ended,
 * and deleting the run's data.
 */
import type { OutputsStatus, SnapshotStatus, TrainingRun } from "../api/v1alpha1/index.js";
import { DataPlane, runIdentity, type AttemptStorage, type SecretReader } from "./data-plane.js";
import { StoreError, StoreReason } from "./errors.js";
import { NOT_EXECUTED_REASONS, outputsStatusOf, type RunResult } from "./result.js";
import { SourceSnapshots, type SourceContext, type SourceOutcome } from "./sources.js";

export interface RunDataContext {
  readonly now: Date;
  readonly readSecret: SecretReader;
}

/** What the runner reported for an ended attempt, as the run's status shows it. */
export interface AttemptVerdict {
  readonly outputs?: OutputsStatus;
  /** Set when nothing ran (SnapshotCorrupt, …): the run's reason and message. */
  readonly notExecuted?: { reason: string; message: string };
}

/** What the controller uses of RunData (unit tests of the controller give a store-less one). */
export type RunDataPort = Pick<RunData, "resolveSource" | "storage" | "verdict" | "deleteRun" | "warm">;

export class RunData {
  readonly sources: SourceSnapshots;

  constructor(readonly dataPlane: DataPlane = new DataPlane()) {
    this.sources = new SourceSnapshots(dataPlane);
  }

  resolveSource(run: TrainingRun, ctx: SourceContext): Promise<SourceOutcome> {
    return this.sources.resolve(run, ctx);
  }

  /** Loads what the store needs ahead of the first run (see DataPlane.warm). */
  warm(): void {
    this.dataPlane.warm();
  }

  async storage(run: TrainingRun, attempt: number, digest: string, ctx: RunDataContext): Promise<AttemptStorage> {
    const store = await this.dataPlane.storeFor(run.metadata.namespace ?? "", ctx.readSecret);
    return this.dataPlane.attemptStorage(store, { run: runIdentity(run.metadata), attempt, digest }, () => ctx.now);
  }

  /** The runner's verdict on an attempt; undefined while result.json is not there (yet). */
  async verdict(run: TrainingRun, attempt: number, readSecret: SecretReader): Promise<AttemptVerdict | undefined> {
    const store = await this.dataPlane.storeFor(run.metadata.namespace ?? "", readSecret);
    const result = await this.dataPlane.readResult(store, runIdentity(run.metadata), attempt);
    return result ? verdictOf(store.settings.containers.runs, run, attempt, result) : undefined;
  }

  /** Deletes the run's outputs, logs and results; nothing to do when no store was ever configured. */
  async deleteRun(run: TrainingRun, readSecret: SecretReader): Promise<number> {
    this.sources.forget(run.metadata.uid ?? "");
    try {
      const store = await this.dataPlane.storeFor(run.metadata.namespace ?? "", readSecret);
      return await this.dataPlane.deleteRunData(store, runIdentity(run.metadata));
    } catch (err) {
      if (err instanceof StoreError && err.storeReason === StoreReason.NotConfigured) return 0;
      throw err;
    }
  }
}

export function verdictOf(runsContainer: string, run: TrainingRun, attempt: number, r: RunResult): AttemptVerdict {
  if (!r.executed && NOT_EXECUTED_REASONS.has(r.reason)) {
    return { notExecuted: { reason: r.reason, message: `nothing was run: ${r.message ?? r.reason}` } };
  }
  return { outputs: outputsStatusOf(runsContainer, runIdentity(run.metadata), attempt, r) };
}

export const snapshotStatusOf = (s: { files: number; bytes: number; commit?: string }): SnapshotStatus =>
  ({ files: s.files, bytes: s.bytes, ...(s.commit ? { commit: s.commit } : {}) });
