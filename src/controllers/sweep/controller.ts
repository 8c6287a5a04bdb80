import { Annotations, ErrorReason, Kinds, SweepReason, type Sweep, type SweepStatus, type TrainingRun } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import type { ObjectKey } from "../../kube/types.js";
import type { Clock } from "../../runtime/clock.js";
import { setCondition } from "../../runtime/conditions.js";
import type { ControllerSpec } from "../../runtime/controller-spec.js";
import { ConflictError, InvalidError } from "../../runtime/errors.js";
import { done, requeueAfter, type ReconcileContext, type Result } from "../../runtime/result.js";
import { mapLimit } from "../../data-plane/concurrency.js";
import type { Suggester } from "../../sweep/suggestion/client.js";
import { reportingErrors } from "../shared/error-condition.js";
import { StaleReadGuard, writeStatusIfChanged } from "../shared/status-writer.js";
import { decideSweep, decideSweepError, type SweepPlan } from "./decide.js";
import { gatherSweep } from "./gather.js";

export interface SweepDeps {
  kube: KubeClient;
  clock: Clock;
  /** The Bayesian suggestion process; absent: Bayesian sweeps say SuggestionServiceUnavailable. */
  suggester?: Suggester;
  concurrency?: number;
  guard?: StaleReadGuard;
}

/** Trial creates in flight at once: a batch of maxConcurrentTrials starts together, not one by one. */
const CREATE_CONCURRENCY = 8;

/** Creates the plan's trials (an existing name is the same trial) and stops the ones it names. */
async function act(sweep: Sweep, plan: SweepPlan, deps: SweepDeps, rctx: ReconcileContext): Promise<SweepStatus> {
  // Deterministic names make the creates independent: their order does not matter, and a crash
  // between two of them loses nothing (the next reconcile finds the ones that exist).
  const refused = await mapLimit(plan.create, CREATE_CONCURRENCY, async (trial) => {
    try {
      await deps.kube.create(Kinds.TrainingRun, trial);
      rctx.log.info({ trial: trial.metadata.name }, "Created trial");
      return undefined;
    } catch (err) {
      if (err instanceof ConflictError && err.alreadyExists) return undefined;
      if (err instanceof InvalidError) return { trial, err };
      throw err;
    }
  });
  const rejected = refused.find((r) => r !== undefined);
  if (rejected) {
    // The template itself is wrong: no later trial would be accepted either.
    const conditions = setCondition(plan.status.conditions, {
      type: "Succeeded", status: "False", severity: "Error", reason: SweepReason.TrialRejected,
      message: `the API server refused trial ${rejected.trial.metadata.name}: ${rejected.err.message}`.slice(0, 2048), observedGeneration: sweep.metadata.generation ?? 0,
    }, new Date(deps.clock.now()));
    return { ...plan.status, phase: "Failed", conditions, completionTime: new Date(deps.clock.now()).toISOString() };
  }
  const namespace = sweep.metadata.namespace ?? "";
  for (const stop of plan.stop) {
    const key: ObjectKey = { namespace, name: stop.name };
    const run = deps.kube.get<TrainingRun>(Kinds.TrainingRun, key);
    if (!run || run.spec.cancel) continue;
    // The reason goes on the trial first: after a crash between the two writes the trial still
    // says why it is being stopped, and the next reconcile finishes the job.
    if (stop.earlyTermination && !run.metadata.annotations?.[Annotations.stoppedBy]) {
      await deps.kube.patchMetadata(Kinds.TrainingRun, key, { annotations: { [Annotations.stoppedBy]: stop.message.slice(0, 512) } });
    }
    await deps.kube.patchSpec(Kinds.TrainingRun, key, { cancel: true });
    rctx.log.info({ trial: stop.name, why: stop.message }, "Stopping trial");
  }
  return plan.status;
}

function recordTransition(kube: KubeClient, sweep: Sweep, status: SweepStatus): void {
  if (status.phase === sweep.status?.phase) return;
  const cond = status.conditions?.find((c) => c.type === "Succeeded");
  kube.recordEvent(sweep, status.phase === "Failed" ? "Warning" : "Normal", cond?.reason ?? status.phase ?? "Unknown", `${status.phase}: ${cond?.message ?? ""}`);
}

async function reconcileSweep(key: ObjectKey, deps: SweepDeps, rctx: ReconcileContext): Promise<Result> {
  const sweep = deps.kube.get<Sweep>(Kinds.Sweep, key);
  if (!sweep) {
    deps.guard?.forget(key);
    return done();
  }
  if (deps.guard?.isStale(sweep) || sweep.metadata.deletionTimestamp) return done();
  const now = new Date(deps.clock.now());
  return reportingErrors({
    kube: deps.kube, kind: Kinds.Sweep, current: () => sweep, fallback: () => ErrorReason.ReconcileError,
    statusFor: (verdict) => decideSweepError(sweep, verdict, now),
    wrote: (before, after) => deps.guard?.wrote(before, after),
  }, async () => {
    const world = await gatherSweep(sweep, deps.kube, deps.suggester, now);
    const plan = decideSweep(sweep, world);
    const status = await act(sweep, plan, deps, rctx);
    recordTransition(deps.kube, sweep, status);
    const written = await writeStatusIfChanged(deps.kube, Kinds.Sweep, sweep, status);
    deps.guard?.wrote(sweep, written);
    return plan.requeueAfterMs !== undefined ? requeueAfter(plan.requeueAfterMs) : done();
  });
}

/** Sweeps: trials are TrainingRuns the sweep owns; their events bring the sweep back. */
export function sweepController(input: SweepDeps): ControllerSpec {
  const deps: SweepDeps = { ...input, guard: input.guard ?? new StaleReadGuard() };
  return {
    name: "sweep",
    forKind: Kinds.Sweep,
    concurrency: deps.concurrency ?? 2,
    owns: [Kinds.TrainingRun],
    watches: [],
    reconcile: (key, ctx) => reconcileSweep(key, deps, ctx),
  };
}

