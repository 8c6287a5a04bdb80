/**
 * The Sweep state machine as a pure function of the sweep, the TrainingRuns it owns and what was
 * gathered (suggestions). It returns the one status to write and the actions to take: trials to
 * create (deterministic names, so repeating an action is harmless) and trials to stop.
 */
import {
  ConditionType, SweepReason,
  type Sweep, type SweepPhase, type SweepStatus, type TrainingRun, type TrialStatus,
} from "../../api/v1alpha1/index.js";
import { setCondition } from "../../runtime/conditions.js";
import type { ErrorVerdict } from "../shared/error-condition.js";
import { recordEvaluations, trialsToStop, type StopVerdict } from "../../sweep/early-termination.js";
import { gridPoint, gridSize, randomPoint, seedOf, spaceProblem, type Point } from "../../sweep/space.js";
import { buildTrial, isActive, trialIndexOf, trialStatusOf } from "../../sweep/trials.js";

export interface SweepWorld {
  now: Date;
  /** TrainingRuns carrying the sweep's label (ownership is checked here). */
  runs: readonly TrainingRun[];
  /** Bayesian: points for the next trials, in order; fewer than asked is fine. */
  suggestions?: readonly Point[];
  /** Bayesian: why no suggestion could be had. */
  suggestionError?: string;
  /** Environment variables of the template's RunConfiguration (Environment passing merges into them). */
  templateEnvironment: Record<string, string>;
}

export interface StopTrial { name: string; message: string; earlyTermination: boolean }

export interface SweepPlan {
  status: SweepStatus;
  create: TrainingRun[];
  stop: StopTrial[];
  requeueAfterMs?: number;
}

const SUGGESTION_RETRY_MS = 10_000;

type Cond = { status: "True" | "False" | "Unknown"; reason: string; message: string; severity?: "Error" | "Warning" | "Info" };

function withState(sweep: Sweep, base: SweepStatus, state: { phase: SweepPhase; cond: Cond }, now: Date): SweepStatus {
  const { phase, cond: succeeded } = state;
  const generation = sweep.metadata.generation ?? 0;
  let conditions = setCondition(base.conditions, { type: ConditionType.Succeeded, ...succeeded, observedGeneration: generation }, now);
  conditions = setCondition(conditions, {
    type: ConditionType.Suspended, status: phase === "Suspended" ? "True" : "False",
    reason: phase === "Suspended" ? SweepReason.Suspended : "NotSuspended", message: phase === "Suspended" ? "spec.suspend is true: no new trials" : "",
    observedGeneration: generation,
  }, now);
  const finished = phase === "Completed" || phase === "Failed" || phase === "Canceled";
  return { ...base, phase, conditions, observedGeneration: generation, ...(finished ? { completionTime: base.completionTime ?? now.toISOString() } : {}) };
}

/** How many trials the sweep may run in all: maxTrials, or the whole grid when smaller. */
export function trialLimit(sweep: Sweep): number {
  return sweep.spec.samplingAlgorithm === "Grid" ? Math.min(sweep.spec.maxTrials, gridSize(sweep.spec.parameters)) : sweep.spec.maxTrials;
}

/** Trials as the sweep knows them: from its TrainingRuns, else from its last status (a deleted run is not forgotten). */
export function currentTrials(sweep: Sweep, runs: readonly TrainingRun[]): TrialStatus[] {
  const previous = new Map((sweep.status?.trials ?? []).map((t) => [t.index, t]));
  const byIndex = new Map<number, TrialStatus>();
  for (const run of runs) {
    const index = trialIndexOf(run, sweep);
    if (index === undefined) continue;
    byIndex.set(index, trialStatusOf(run, index, sweep.spec.primaryMetric.name, previous.get(index)));
  }
  for (const [index, t] of previous) {
    if (!byIndex.has(index)) byIndex.set(index, isActive(t.phase) ? { ...t, phase: "Canceled", message: "its TrainingRun was deleted" } : t);
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** New trials this reconcile may start (concurrency, limit, suspend/cancel already excluded by the caller). */
export function openSlots(sweep: Sweep, trials: readonly TrialStatus[]): number {
  const active = trials.filter((t) => isActive(t.phase)).length;
  const next = trials.length === 0 ? 0 : Math.max(...trials.map((t) => t.index)) + 1;
  return Math.max(0, Math.min(sweep.spec.maxConcurrentTrials - active, trialLimit(sweep) - next));
}

export function nextIndex(trials: readonly TrialStatus[]): number {
  return trials.length === 0 ? 0 : Math.max(...trials.map((t) => t.index)) + 1;
}

function counts(trials: readonly TrialStatus[]): NonNullable<SweepStatus["trialCounts"]> {
  const n = (phase: TrialStatus["phase"]): number => trials.filter((t) => t.phase === phase).length;
  return {
    total: trials.length, pending: n("Pending"), running: n("Running"), completed: n("Completed"),
    failed: n("Failed"), canceled: n("Canceled"), earlyTerminated: n("EarlyTerminated"),
  };
}

function bestTrial(sweep: Sweep, trials: readonly TrialStatus[]): SweepStatus["bestTrial"] {
  const max = sweep.spec.primaryMetric.goal === "Maximize";
  let best: TrialStatus | undefined;
  for (const t of trials) {
    if (t.phase !== "Completed" || t.metric === undefined) continue;
    if (!best || (max ? t.metric > (best.metric ?? -Infinity) : t.metric < (best.metric ?? Infinity))) best = t;
  }
  return best && best.metric !== undefined ? { name: best.name, parameters: best.parameters, metric: best.metric } : undefined;
}

/** Evaluations recorded and the early-termination verdicts for running trials. */
function applyEarlyTermination(sweep: Sweep, trials: TrialStatus[]): { trials: TrialStatus[]; stops: StopVerdict[] } {
  const policy = sweep.spec.earlyTermination;
  if (!policy) return { trials, stops: [] };
  const updated = trials.map((t) => {
    const evaluations = recordEvaluations(t.evaluations ?? [], { reports: t.reports ?? 0, value: t.metric }, policy);
    return evaluations.length > 0 ? { ...t, evaluations } : t;
  });
  const candidates = updated.map((t) => ({ name: t.name, evaluations: t.evaluations ?? [], running: t.phase === "Running" }));
  return { trials: updated, stops: trialsToStop(policy, sweep.spec.primaryMetric.goal, candidates) };
}

function pointsFor(sweep: Sweep, world: SweepWorld, first: number, slots: number): Point[] {
  const params = sweep.spec.parameters;
  const seed = sweep.spec.randomSeed ?? seedOf(sweep.metadata.uid ?? "");
  switch (sweep.spec.samplingAlgorithm) {
    case "Grid": return Array.from({ length: slots }, (_, i) => gridPoint(params, first + i));
    case "Random": return Array.from({ length: slots }, (_, i) => randomPoint(params, seed, first + i));
    case "Bayesian": return (world.suggestions ?? []).slice(0, slots);
  }
}

function endState(sweep: Sweep, trials: readonly TrialStatus[], best: SweepStatus["bestTrial"], ended: { reason: string; message: string }): { phase: SweepPhase; cond: Cond } {
  if (ended.reason === SweepReason.Canceled) {
    return { phase: "Canceled", cond: { status: "False", reason: ended.reason, message: ended.message, severity: "Error" } };
  }
  if (!best) {
    const metric = sweep.spec.primaryMetric.name;
    const message = trials.length === 0 ? `${ended.message}; no trial ran` : `${ended.message}; none of the ${trials.length} trials reported ${metric}`;
    const reason = trials.length === 0 ? ended.reason : SweepReason.NoTrialReportedMetric;
    return { phase: "Failed", cond: { status: "False", reason, message, severity: "Error" } };
  }
  return { phase: "Completed", cond: { status: "True", reason: ended.reason, message: `${ended.message}; best ${best.name} ${sweep.spec.primaryMetric.name}=${best.metric}` } };
}

export function decideSweep(sweep: Sweep, world: SweepWorld): SweepPlan {
  const now = world.now;
  const status: SweepStatus = { ...sweep.status };
  const finished = status.phase === "Completed" || status.phase === "Failed" || status.phase === "Canceled";
  const problem = spaceProblem(sweep.spec);
  if (problem) {
    return { status: withState(sweep, status, { phase: "Failed", cond: { status: "False", reason: problem.reason, message: problem.message, severity: "Error" } }, now), create: [], stop: [] };
  }
  const observed = currentTrials(sweep, world.runs);
  const { trials, stops } = finished ? { trials: observed, stops: [] } : applyEarlyTermination(sweep, observed);
  const best = bestTrial(sweep, trials);
  const base: SweepStatus = {
    ...status, trialCounts: counts(trials), trials,
    ...(best ? { bestTrial: best } : {}),
  };
  if (finished) return { status: withState(sweep, base, { phase: status.phase ?? "Completed", cond: currentSucceeded(sweep) }, now), create: [], stop: [] };

  const active = trials.filter((t) => isActive(t.phase));
  const started = status.startTime ? Date.parse(status.startTime) : now.getTime();
  const deadline = sweep.spec.maxDurationSeconds !== undefined ? started + sweep.spec.maxDurationSeconds * 1000 : Infinity;
  let ending: { reason: string; message: string } | undefined;
  if (sweep.spec.cancel) ending = { reason: SweepReason.Canceled, message: "canceled by spec.cancel" };
  else if (now.getTime() >= deadline) ending = { reason: SweepReason.MaxDurationReached, message: `maxDurationSeconds (${sweep.spec.maxDurationSeconds}) reached` };
  if (ending) {
    const stop = active.map((t) => ({ name: t.name, message: ending.message, earlyTermination: false }));
    return { status: withState(sweep, base, endState(sweep, trials, best, ending), now), create: [], stop };
  }

  const stopping = new Set(stops.map((s) => s.name));
  const stop = stops.map((s) => ({ ...s, earlyTermination: true }));
  const stillActive = active.filter((t) => !stopping.has(t.name));
  const limit = trialLimit(sweep);
  const first = nextIndex(trials);
  if (first >= limit && stillActive.length === 0) {
    const all = sweep.spec.samplingAlgorithm === "Grid" && limit < sweep.spec.maxTrials ? `all ${limit} grid points ran` : `all ${limit} trials ran (maxTrials)`;
    return { status: withState(sweep, base, endState(sweep, trials, best, { reason: SweepReason.Completed, message: all }), now), create: [], stop };
  }
  if (sweep.spec.suspend) {
    return { status: withState(sweep, base, { phase: "Suspended", cond: { status: "Unknown", reason: SweepReason.Suspended, message: `suspended with ${stillActive.length} trials still active` } }, now), create: [], stop };
  }
  const slots = Math.max(0, Math.min(sweep.spec.maxConcurrentTrials - stillActive.length, limit - first));
  const points = pointsFor(sweep, world, first, slots);
  const create = points.map((p, i) => buildTrial(sweep, first + i, p, world.templateEnvironment));
  const startTime = status.startTime ?? (create.length > 0 ? now.toISOString() : undefined);
  const running: SweepStatus = { ...base, ...(startTime ? { startTime } : {}) };
  const untilDeadline = deadline === Infinity ? undefined : Math.max(1000, deadline - now.getTime());
  if (slots > 0 && points.length < slots && world.suggestionError) {
    const cond: Cond = { status: "Unknown", reason: SweepReason.SuggestionServiceUnavailable, message: world.suggestionError.slice(0, 1024), severity: "Warning" };
    return { status: withState(sweep, running, { phase: "Running", cond }, now), create, stop, requeueAfterMs: Math.min(SUGGESTION_RETRY_MS, untilDeadline ?? Infinity) };
  }
  const message = `${trials.length + create.length} of ${limit} trials created, ${stillActive.length + create.length} active`;
  return {
    status: withState(sweep, running, { phase: "Running", cond: { status: "Unknown", reason: SweepReason.Running, message } }, now),
    create, stop,
    ...(untilDeadline !== undefined ? { requeueAfterMs: untilDeadline } : {}),
  };
}

/** The status that shows an error the reconcile could not handle (the shared error path writes it). */
export function decideSweepError(sweep: Sweep, verdict: ErrorVerdict, now: Date): SweepStatus {
  const status = sweep.status ?? {};
  const finished = status.phase === "Completed" || status.phase === "Failed" || status.phase === "Canceled";
  if (finished) return status;
  const cond: Cond = verdict.terminal
    ? { status: "False", reason: verdict.reason, message: verdict.message, severity: "Error" }
    : { status: "Unknown", reason: verdict.reason, message: verdict.message, severity: "Warning" };
  return withState(sweep, status, { phase: verdict.terminal ? "Failed" : (status.phase ?? "Pending"), cond }, now);
}

function currentSucceeded(sweep: Sweep): Cond {
  const c = sweep.status?.conditions?.find((x) => x.type === ConditionType.Succeeded);
  return c ? { status: c.status, reason: c.reason, message: c.message, ...(c.severity ? { severity: c.severity } : {}) } : { status: "True", reason: SweepReason.Completed, message: "" };
}
