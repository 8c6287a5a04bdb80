import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../api/v1alpha1/index.js";
import type { Attempt, RunExecutor, Snapshot } from "../../providers/types.js";
import { argvOf, runIdOf } from "./resolve.js";

/** What every Attempt of a run shares; the attempt number and the handle complete it per call. */
export type AttemptBase = Omit<Attempt, "number" | "handle">;

/** observe/cancel/cleanup need only the digest; the files travel with submit. */
export const digestOnly = (digest: string): Snapshot => ({ digest, files: [], totalBytes: 0 });

export function attemptBase(
  run: TrainingRun, target: ComputeTarget, config: RunConfigurationSpec, parts: { snapshot: Snapshot; environmentHash: string },
): AttemptBase {
  return { run, target, config, runId: run.status?.runId ?? runIdOf(run), ...parts, ...argvOf(run) };
}

/** The run's current attempt as the executor sees it: number from status, handle decoded by the provider. */
export interface CurrentAttempt {
  readonly executor: RunExecutor;
  readonly base: AttemptBase;
  readonly number: number;
  /** The raw status.execution.handle is present (decoded or not). */
  readonly handleRecorded: boolean;
  readonly handle: unknown;
}

export function currentAttempt(run: TrainingRun, executor: RunExecutor, base: AttemptBase): CurrentAttempt {
  const raw = run.status?.execution?.handle;
  return { executor, base, number: run.status?.execution?.attempt ?? 1, handleRecorded: raw !== undefined, handle: executor.decodeHandle(raw) };
}

export const asAttempt = (c: CurrentAttempt): Attempt => ({ ...c.base, number: c.number, handle: c.handle });
