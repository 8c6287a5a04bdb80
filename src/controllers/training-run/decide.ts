import {
  ConditionType, RunReason, TERMINAL_PHASES,
  type ComputeTarget, type RunConfigurationSpec, type RunPhase, type SnapshotStatus, type TrainingRun, type TrainingRunStatus,
} from "../../api/v1alpha1/index.js";
import { isTrue, setCondition } from "../../runtime/conditions.js";
import type { RunObservation, Snapshot } from "../../providers/types.js";
import type { Collected } from "../../metrics/collector.js";
import { nextRunMetrics } from "../../metrics/status.js";
import type { AttemptVerdict } from "../../data-plane/run-data.js";
import type { ErrorVerdict } from "../shared/error-condition.js";
import type { Problem } from "./resolve.js";

/** Everything decideRun needs, gathered by the controller (read-only). */
export interface RunWorld {
  now: Date;
  config?: RunConfigurationSpec;
  target?: ComputeTarget;
  /** Why the run cannot start yet (or ever, when terminal). */
  problem?: Problem;
  snapshot?: Snapshot;
  /** Files, bytes and git commit of that snapshot, for status.snapshot. */
  snapshotStatus?: SnapshotStatus;
  /** The runner's report on the attempt that just ended (outputs, or why nothing ran). */
  verdict?: AttemptVerdict;
  /** A finished run still waits for outputs uploaded after SIGTERM. */
  awaitingOutputs?: boolean;
  environmentHash?: string;
  runId: string;
  /** Observation of the current attempt, when one is active. */
  observation?: RunObservation;
  /** The executor frees per-run resources after the end (RunExecutor.release). */
  executorReleases?: boolean;
  /** Its release copies the attempt's outputs into the store (RunExecutor.collectsOutputsOnRelease). */
  executorCollectsOutputs?: boolean;
  /** ...and may do so in the reconcile that finishes the run (it collects no outputs then). */
  releasesWithFinish?: boolean;
  /** Metrics read off the hot path (whole Local log, MLflow run), when there are any. */
  metrics?: Collected;
}

export type RunAction =
  | { kind: "None" }
  | { kind: "Submit"; attempt: number }
  | { kind: "ContinueSubmit"; attempt: number }
  | { kind: "Cancel" }
  | { kind: "Release" }
  | { kind: "Cleanup" };

export interface RunPlan {
  status: TrainingRunStatus;
  action: RunAction;
  requeueAfterMs?: number;
  /**
   * A run that finishes and releases in the same reconcile: the status to write instead when the
   * executor's release is still in progress (the run has finished all the same; later reconciles
   * release it as any finished run).
   */
  statusWhileReleasing?: TrainingRunStatus;
}

const DEFAULT_POLL_MS = 5_000;

export const isFinished = (run: TrainingRun): boolean =>
  run.status?.phase !== undefined && TERMINAL_PHASES.includes(run.status.phase);

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s % 60}s` : `${s}s`;
}

type Cond = { status: "True" | "False" | "Unknown"; reason: string; message: string; severity?: "Error" | "Warning" | "Info" };

/** Writes phase plus the three run conditions in one place, so they never disagree. */
interface StateChange {
  phase: RunPhase;
  succeeded: Cond;
  now: Date;
  computeReady?: Cond;
}

function withState(run: TrainingRun, base: TrainingRunStatus, change: StateChange): TrainingRunStatus {
  const { phase, succeeded, now, computeReady } = change;
  const generation = run.metadata.generation ?? 0;
  let conditions = setCondition(base.conditions, { type: ConditionType.Succeeded, ...succeeded, observedGeneration: generation }, now);
  const running = phase === "Running";
  conditions = setCondition(conditions, {
    type: ConditionType.Running, status: running ? "True" : "False", reason: running ? RunReason.Running : succeeded.reason,
    message: running ? "the script is running" : succeeded.message, observedGeneration: generation,
  }, now);
  if (computeReady) conditions = setCondition(conditions, { type: ConditionType.ComputeReady, ...computeReady, observedGeneration: generation }, now);
  conditions = setCondition(conditions, {
    type: ConditionType.Suspended, status: run.spec.suspend && phase === "Queued" ? "True" : "False",
    reason: run.spec.suspend && phase === "Queued" ? RunReason.Suspended : "NotSuspended", message: run.spec.suspend ? "spec.suspend is true" : "", observedGeneration: generation,
  }, now);
  const finished = TERMINAL_PHASES.includes(phase);
  const completionTime = finished ? (base.completionTime ?? now.toISOString()) : undefined;
  const start = base.startTime ? Date.parse(base.startTime) : undefined;
  const end = completionTime ? Date.parse(completionTime) : now.getTime();
  return {
    ...base, phase, conditions, observedGeneration: generation,
    ...(completionTime ? { completionTime } : {}),
    // Only a finished run gets a duration: a ticking value would make every poll a status write.
    ...(start !== undefined && completionTime ? { duration: formatDuration(end - start) } : {}),
  };
}

const fail = (reason: string, message: string): Cond => ({ status: "False", reason, message, severity: "Error" });
const pending = (reason: string, message: string, severity?: Cond["severity"]): Cond => ({ status: "Unknown", reason, message, ...(severity ? { severity } : {}) });

function deadlineOf(run: TrainingRun, config: RunConfigurationSpec | undefined): number | undefined {
  const limits = [run.spec.activeDeadlineSeconds, config?.maxRunDurationSeconds].filter((x): x is number => x !== undefined);
  if (limits.length === 0 || !run.status?.startTime) return undefined;
  return Date.parse(run.status.startTime) + Math.min(...limits) * 1000;
}

const OUTPUTS_POLL_MS = 5_000;
const RELEASED_MESSAGE = "what the run held on its target that costs money was released";
/** ResourcesReleased=True once release or cleanup succeeded (the plan's status is written only then). */
function releasedCondition(run: TrainingRun, status: TrainingRunStatus, now: Date, message: string): TrainingRunStatus {
  const conditions = setCondition(status.conditions, {
    type: ConditionType.ResourcesReleased, status: "True", reason: RunReason.Released, message, observedGeneration: run.metadata.generation ?? 0,
  }, now);
  return { ...status, conditions };
}

function decideFinished(run: TrainingRun, world: RunWorld): RunPlan {
  const status = run.status ?? {};
  // Outputs uploaded after the end (a canceled run's runner uploads on SIGTERM) join the status late.
  if (world.verdict?.outputs && !status.outputs) return { status: { ...status, outputs: world.verdict.outputs }, action: { kind: "None" } };
  if (world.awaitingOutputs && !world.verdict) return { status, action: { kind: "None" }, requeueAfterMs: OUTPUTS_POLL_MS };
  if (world.executorReleases && status.execution && !status.execution.released) {
    const released = releasedCondition(run, status, world.now, RELEASED_MESSAGE);
    // Outputs copied by release are read on the next reconcile: ask for one, not relying on the status write's event.
    return {
      status: { ...released, execution: { ...status.execution, released: true } }, action: { kind: "Release" },
      ...(world.executorCollectsOutputs ? { requeueAfterMs: OUTPUTS_POLL_MS } : {}),
    };
  }
  const ttl = run.spec.ttlSecondsAfterFinished;
  // A run that never submitted anything has nothing on the target to clean.
  if (ttl === undefined || !status.completionTime || !status.execution || status.execution.cleanedUp) return { status, action: { kind: "None" } };
  const due = Date.parse(status.completionTime) + ttl * 1000;
  if (world.now.getTime() < due) return { status, action: { kind: "None" }, requeueAfterMs: due - world.now.getTime() };
  const cleaned = releasedCondition(run, status, world.now, `ttlSecondsAfterFinished (${ttl}s) passed: what the run left on its target was removed`);
  return { status: { ...cleaned, execution: { ...status.execution, cleanedUp: true } }, action: { kind: "Cleanup" } };
}

/**
 * The status that shows an error met while reconciling the run (pure). A finished (or deleted) run
 * keeps its phase and Succeeded condition: the error goes to ResourcesReleased. Otherwise a
 * terminal error fails the run (Succeeded=False with the reason, completionTime set) and a transient
 * one keeps the phase with Succeeded=Unknown naming the reason while the queue retries.
 */
export function decideError(run: TrainingRun, verdict: ErrorVerdict, now: Date): TrainingRunStatus {
  const status = run.status ?? {};
  if (isFinished(run) || run.metadata.deletionTimestamp) {
    const conditions = setCondition(status.conditions, {
      type: ConditionType.ResourcesReleased, status: "False", reason: verdict.reason, message: verdict.message,
      severity: verdict.severity, observedGeneration: run.metadata.generation ?? 0,
    }, now);
    return { ...status, conditions };
  }
  if (verdict.terminal) return withState(run, status, { phase: "Failed", succeeded: fail(verdict.reason, verdict.message), now });
  return withState(run, status, { phase: status.phase ?? "Queued", succeeded: pending(verdict.reason, verdict.message, "Warning"), now });
}

/** Not submitted yet: wait for references and the target, or submit attempt 1. */
function decideNotStarted(run: TrainingRun, world: RunWorld): RunPlan {
  const base: TrainingRunStatus = { ...run.status, runId: world.runId, attempts: 0 };
  const now = world.now;
  if (run.spec.cancel) return { status: withState(run, base, { phase: "Canceled", succeeded: fail(RunReason.Canceled, "canceled before it started"), now }), action: { kind: "None" } };
  if (world.problem) {
    const p = world.problem;
    const phase: RunPhase = p.terminal ? "Failed" : "Queued";
    const cond = p.terminal ? fail(p.reason, p.message) : pending(p.reason, p.message, p.progress ? undefined : "Warning");
    return {
      status: withState(run, base, { phase: phase, succeeded: cond, now, computeReady: { status: "False", reason: p.reason, message: p.message } }),
      action: { kind: "None" },
      ...(!p.terminal && p.retryAfterMs !== undefined ? { requeueAfterMs: p.retryAfterMs } : {}),
    };
  }
  const target = world.target;
  const targetName = world.config?.computeTargetRef.name ?? "";
  if (!target) {
    const msg = `ComputeTarget ${targetName} not found`;
    return { status: withState(run, base, { phase: "Queued", succeeded: pending(RunReason.ComputeTargetNotFound, msg, "Warning"), now, computeReady: { status: "False", reason: RunReason.ComputeTargetNotFound, message: msg } }), action: { kind: "None" } };
  }
  const ready = target.status?.conditions?.find((c) => c.type === ConditionType.Ready);
  if (ready?.reason === RunReason.TargetRetired) {
    return { status: withState(run, base, { phase: "Failed", succeeded: fail(RunReason.TargetRetired, ready.message), now, computeReady: { status: "False", reason: RunReason.TargetRetired, message: ready.message } }), action: { kind: "None" } };
  }
  if (!isTrue(target.status?.conditions, ConditionType.Ready)) {
    const msg = `ComputeTarget ${targetName} is not Ready${ready ? ` (${ready.reason}: ${ready.message})` : ""}`;
    const reason = ready?.reason === RunReason.ProviderNotAvailable ? RunReason.ProviderNotAvailable : RunReason.WaitingForComputeTarget;
    return { status: withState(run, base, { phase: "Queued", succeeded: pending(reason, msg, "Warning"), now, computeReady: { status: "False", reason, message: msg } }), action: { kind: "None" } };
  }
  if (run.spec.suspend) {
    return { status: withState(run, base, { phase: "Queued", succeeded: pending(RunReason.Suspended, "suspended (spec.suspend)"), now }), action: { kind: "None" } };
  }
  const started: TrainingRunStatus = {
    ...base,
    target: target.metadata.name ?? "", targetType: target.spec.type,
    ...(world.config ? { runConfiguration: world.config } : {}),
    ...(world.snapshot ? { snapshotDigest: world.snapshot.digest } : {}),
    ...(world.snapshotStatus ? { snapshot: world.snapshotStatus } : {}),
    ...(world.environmentHash ? { environmentHash: world.environmentHash } : {}),
    startTime: base.startTime ?? now.toISOString(),
    attempts: 1,
    execution: { attempt: 1 },
  };
  const computeReady: Cond = { status: "True", reason: "Ready", message: `${target.spec.type} target ${targetName} is Ready` };
  return {
    status: withState(run, started, { phase: "Preparing", succeeded: pending(RunReason.Preparing, "submitting attempt 1"), now, computeReady: computeReady }),
    action: { kind: "Submit", attempt: 1 },
    requeueAfterMs: DEFAULT_POLL_MS,
  };
}

/** Ends a retry cannot change: the same environment build, the same snapshot bytes. */
const NOT_RETRIED: ReadonlySet<string> = new Set([RunReason.EnvironmentFailed, RunReason.SnapshotCorrupt, RunReason.SnapshotInvalid]);

/**
 * The run has finished with this attempt: the terminal status. An executor whose release is quick
 * releases in the same reconcile, shown in the same status write (one write, not two).
 */
function finishWith(run: TrainingRun, world: RunWorld, final: TrainingRunStatus): RunPlan {
  if (!world.releasesWithFinish || !final.execution || final.execution.released) return { status: final, action: { kind: "None" } };
  const released = releasedCondition(run, final, world.now, RELEASED_MESSAGE);
  return { status: { ...released, execution: { ...final.execution, released: true } }, action: { kind: "Release" }, statusWhileReleasing: final };
}

function decideAttemptEnded(run: TrainingRun, world: RunWorld, obs: RunObservation, base: TrainingRunStatus): RunPlan {
  const now = world.now;
  const attempts = base.attempts ?? 1;
  const verdict = world.verdict;
  const withResult: TrainingRunStatus = {
    ...base,
    ...(obs.exitCode !== undefined && !verdict?.notExecuted ? { exitCode: obs.exitCode } : {}),
    ...(verdict?.outputs ? { outputs: verdict.outputs } : {}),
  };
  const finish = (phase: RunPhase, succeeded: Cond): RunPlan => finishWith(run, world, withState(run, withResult, { phase, succeeded, now }));
  if (verdict?.notExecuted) {
    // The runner refused the snapshot (corrupt, invalid): nothing ran, and a retry reads the same bytes.
    const { reason, message } = verdict.notExecuted;
    const retryable = reason === "SnapshotUnavailable" && attempts <= run.spec.backoffLimit;
    if (!retryable) return finish("Failed", fail(reason, message));
  }
  if (obs.state === "Succeeded") {
    return finish("Completed", { status: "True", reason: RunReason.Completed, message: "the script exited 0" });
  }
  const reason = verdict?.notExecuted?.reason ?? obs.reason ?? (obs.state === "Lost" ? RunReason.Lost : RunReason.ScriptFailed);
  const message = verdict?.notExecuted?.message ?? obs.message ?? (obs.exitCode !== undefined ? `the script exited with code ${obs.exitCode}` : `attempt ${attempts} ${obs.state.toLowerCase()}`);
  if (attempts <= run.spec.backoffLimit && !NOT_RETRIED.has(reason)) {
    const next = attempts + 1;
    const retry: TrainingRunStatus = { ...withResult, attempts: next, execution: { attempt: next } };
    return {
      status: withState(run, retry, { phase: "Queued", succeeded: pending(RunReason.Retrying, `attempt ${attempts} failed (${message}); starting attempt ${next} of ${run.spec.backoffLimit + 1}`), now }),
      action: { kind: "Submit", attempt: next },
      requeueAfterMs: DEFAULT_POLL_MS,
    };
  }
  const finalMessage = run.spec.backoffLimit > 0 ? `${message}; all ${attempts} attempts failed (backoffLimit ${run.spec.backoffLimit})` : message;
  return finish("Failed", fail(reason, finalMessage));
}

const PHASE_OF: Record<"Preparing" | "Queued" | "Starting" | "Running", RunPhase> = {
  Preparing: "Preparing", Queued: "Queued", Starting: "Starting", Running: "Running",
};

/** An attempt is in flight: cancel, enforce the deadline, or follow the observation. */
function decideActive(run: TrainingRun, world: RunWorld): RunPlan {
  const now = world.now;
  const status = run.status ?? {};
  const attempt = status.execution?.attempt ?? 1;
  if (run.spec.cancel) {
    return { status: withState(run, status, { phase: "Canceled", succeeded: fail(RunReason.Canceled, "canceled by spec.cancel"), now }), action: { kind: "Cancel" } };
  }
  if (world.problem?.terminal) {
    return { status: withState(run, status, { phase: "Failed", succeeded: fail(world.problem.reason, world.problem.message), now }), action: { kind: "None" } };
  }
  if (world.problem) {
    // The attempt cannot be observed now (its target is gone): the phase stays what was last known.
    const p = world.problem;
    return {
      status: withState(run, status, { phase: status.phase ?? "Running", succeeded: pending(p.reason, p.message, "Warning"), now }),
      action: { kind: "None" }, requeueAfterMs: p.retryAfterMs ?? DEFAULT_POLL_MS,
    };
  }
  const deadline = deadlineOf(run, world.config);
  if (deadline !== undefined && now.getTime() >= deadline) {
    return { status: withState(run, status, { phase: "Failed", succeeded: fail(RunReason.DeadlineExceeded, "the run exceeded its activeDeadlineSeconds / maxRunDurationSeconds and was stopped"), now }), action: { kind: "Cancel" } };
  }
  const obs = world.observation;
  if (!obs) return { status, action: { kind: "None" }, requeueAfterMs: DEFAULT_POLL_MS };
  const metrics = nextRunMetrics(run, world.metrics, obs.outputTail);
  const base: TrainingRunStatus = {
    ...status,
    ...(metrics ? { metrics } : {}),
    ...(obs.outputTail !== undefined ? { outputTail: obs.outputTail } : {}),
    ...(obs.links ? { links: { ...status.links, ...obs.links } } : {}),
    ...(obs.handle && status.execution ? { execution: { ...status.execution, handle: obs.handle as Record<string, unknown> } } : {}),
  };
  if (obs.state === "Succeeded" || obs.state === "Failed" || obs.state === "Lost") return decideAttemptEnded(run, world, obs, base);
  const untilDeadline = deadline !== undefined ? deadline - now.getTime() : Infinity;
  const poll = Math.min(obs.pollAfterMs ?? DEFAULT_POLL_MS, untilDeadline);
  const reason = obs.reason ?? (obs.state === "Running" ? RunReason.Running : obs.state === "Queued" ? RunReason.Queued : obs.state === "Starting" ? RunReason.Starting : RunReason.Preparing);
  const message = obs.message ?? `attempt ${attempt} is ${obs.state.toLowerCase()}`;
  return {
    status: withState(run, base, { phase: PHASE_OF[obs.state], succeeded: pending(reason, message), now }),
    action: obs.continueSubmit ? { kind: "ContinueSubmit", attempt } : { kind: "None" },
    requeueAfterMs: obs.continueSubmit ? 0 : poll,
  };
}

/** The whole TrainingRun state machine as a pure function of the run and what was gathered. */
export function decideRun(run: TrainingRun, world: RunWorld): RunPlan {
  if (isFinished(run)) return decideFinished(run, world);
  if (!run.status?.runConfiguration || !run.status.execution) return decideNotStarted(run, world);
  return decideActive(run, world);
}
