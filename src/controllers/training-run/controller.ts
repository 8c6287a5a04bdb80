import {
  Annotations, ErrorReason, FINALIZER, Kinds, Labels, RunReason, TERMINAL_PHASES, type ComputeTarget, type Reason, type TrainingRun, type TrainingRunStatus,
} from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import { BuiltinKinds, keyOf, type KubeObject, type ObjectKey } from "../../kube/types.js";
import type { Clock } from "../../runtime/clock.js";
import type { ControllerSpec } from "../../runtime/controller-spec.js";
import { TransientError } from "../../runtime/errors.js";
import { hasFinalizer, withFinalizer, withoutFinalizer } from "../../runtime/finalizers.js";
import { done, requeueAfter, type ReconcileContext, type Result } from "../../runtime/result.js";
import type { ProviderContext, ProviderRegistry } from "../../providers/types.js";
import { withTrackingEnvironment, type RunMetricsService } from "../../metrics/service.js";
import type { RunDataPort as RunData } from "../../data-plane/run-data.js";
import { reportingErrors } from "../shared/error-condition.js";
import { providerContext } from "../shared/provider-context.js";
import { ReferenceIndex } from "../shared/referrer-index.js";
import { StaleReadGuard, writeStatusIfChanged } from "../shared/status-writer.js";
import { asAttempt, attemptBase, currentAttempt, digestOnly, type CurrentAttempt } from "./attempt.js";
import { decideError, decideRun, isFinished, type RunPlan } from "./decide.js";
import { gatherRun, type Gathered } from "./gather.js";

export interface TrainingRunDeps {
  kube: KubeClient;
  providers: ProviderRegistry;
  clock: Clock;
  concurrency?: number;
  guard?: StaleReadGuard;
  /** MLflow tracking and metric collection; absent: no metrics beyond the output's metric lines. */
  metrics?: RunMetricsService;
  /** The run data plane: snapshots, attempt storage, outputs (src/data-plane). */
  runData: RunData;
  /** ConfigMap and Secret names → runs waiting for them (their source); created when not given. */
  sourceRefs?: { configMaps: ReferenceIndex; secrets: ReferenceIndex };
}

/** What a run that has not started yet waits for by name: its source ConfigMap, its git Secret. */
function recordSourceRefs(refs: TrainingRunDeps["sourceRefs"], key: ObjectKey, run: TrainingRun | undefined): void {
  const waiting = run && !run.status?.execution && !run.metadata.deletionTimestamp ? run.spec.source : undefined;
  refs?.configMaps.record(key, waiting?.configMap ? [waiting.configMap.name] : []);
  refs?.secrets.record(key, waiting?.git?.secretRef ? [waiting.git.secretRef.name] : []);
}

async function ensureFinalizer(run: TrainingRun, deps: TrainingRunDeps): Promise<TrainingRun> {
  if (hasFinalizer(run, FINALIZER)) return run;
  const updated = await deps.kube.patchMetadata<TrainingRun>(Kinds.TrainingRun, keyOf(run), { finalizers: withFinalizer(run, FINALIZER) }, run.metadata.resourceVersion);
  deps.guard?.wrote(run, updated);
  return updated;
}

/**
 * Frees what an ended attempt holds (RunExecutor.release): undefined once done, else when to look
 * again. An executor that copies the attempt's outputs then gets the attempt's storage.
 */
async function releasePending(current: CurrentAttempt, deps: TrainingRunDeps, ctx: ProviderContext): Promise<number | undefined> {
  const { run, snapshot } = current.base;
  const storage = current.executor.collectsOutputsOnRelease && snapshot.digest
    ? await deps.runData.storage(run, current.number, snapshot.digest, ctx) : undefined;
  const outcome = await current.executor.release?.({ ...asAttempt(current), ...(storage ? { storage } : {}) }, ctx);
  return outcome && !outcome.done ? (outcome.requeueAfterMs ?? 5_000) : undefined;
}

const stillReleasing = (retryAfterMs: number): TransientError =>
  new TransientError("releasing the run's resources", retryAfterMs, { reason: RunReason.Releasing });

/** For a step that cannot go on before the release: requeues while it is in progress. */
async function release(current: CurrentAttempt, deps: TrainingRunDeps, ctx: ProviderContext): Promise<void> {
  const pending = await releasePending(current, deps, ctx);
  if (pending !== undefined) throw stillReleasing(pending);
}

/** One reconcile's action and what it acts on. */
interface ActStep {
  readonly plan: RunPlan;
  readonly gathered: Gathered;
  readonly run: TrainingRun;
}

/**
 * A run that has not started and is not held (suspended, canceled, deleted) gets its finalizer
 * while gather snapshots its source: the PATCH costs no latency of its own before the Job. (A
 * submit that finds it missing anyway, e.g. removed by hand, adds it before the executor runs.)
 */
const willSubmit = (run: TrainingRun): boolean =>
  !run.status?.execution && !isFinished(run) && !run.spec.suspend && !run.spec.cancel && !hasFinalizer(run, FINALIZER);

/** Carries out the plan's one action; returns the status to write (with the new handle). */
async function act(step: ActStep, deps: TrainingRunDeps, ctx: ProviderContext): Promise<TrainingRunStatus> {
  const { run, plan, gathered: g } = step;
  const action = plan.action;
  const current = g.current;
  if (action.kind === "None" || !current) return plan.status;
  const { executor, base } = current;
  switch (action.kind) {
    case "Submit":
    case "ContinueSubmit": {
      // A retry: the attempt that ended gives back what it holds before the next one starts.
      if (action.kind === "Submit" && action.attempt > 1) await release(current, deps, ctx);
      // The snapshot is in the store (gather put it there before the first submit); its digest in
      // status is the frozen reference every later attempt uses.
      const snapshot = base.snapshot;
      const handle = action.kind === "ContinueSubmit" ? current.handle : undefined;
      // The MLflow run whose id the script gets was usually prepared in gather, beside the snapshot.
      const [storage, tracking] = await Promise.all([
        deps.runData.storage(run, action.attempt, base.snapshot.digest, ctx),
        g.tracking ?? deps.metrics?.prepare(run, base.target, base.config, ctx),
      ]);
      if (tracking?.warning && action.kind === "Submit") deps.kube.recordEvent(run, "Warning", "MetricsTrackingUnavailable", tracking.warning);
      const config = withTrackingEnvironment(base.config, tracking?.env ?? {});
      const newHandle = await executor.submit({ ...base, config, snapshot, number: action.attempt, handle, storage }, ctx);
      ctx.log.info({ attempt: action.attempt, handle: newHandle }, action.kind === "Submit" ? "Submitted attempt" : "Continued submission");
      const submitted: TrainingRunStatus = {
        ...plan.status, ...(snapshot.digest ? { snapshotDigest: snapshot.digest } : {}),
        ...(tracking?.mlflow ? { metrics: { ...(plan.status.metrics ?? { latest: [] }), mlflow: tracking.mlflow } } : {}),
        execution: { ...plan.status.execution, attempt: action.attempt, handle: newHandle as Record<string, unknown> },
      };
      // What the executor knows of the new attempt without asking (e.g. its Job is Starting) goes
      // into this write, not into a second one after the next observation.
      const seen = executor.stateAfterSubmit?.(newHandle);
      return seen ? decideRun({ ...run, status: submitted }, { ...g.world, observation: seen }).status : submitted;
    }
    case "Cancel":
      if (current.handle !== undefined) await executor.cancel(asAttempt(current), ctx);
      return plan.status;
    case "Release": {
      if (!plan.statusWhileReleasing) {
        await release(current, deps, ctx);
        return plan.status;
      }
      // The run finishes now and is finished whatever its release does: one still in progress, or
      // failing, is retried (and its error shown) by the finished run's later reconciles.
      const pending = await releasePending(current, deps, ctx).catch((err: unknown) => {
        ctx.log.info({ err: String(err) }, "releasing with the finish failed; retried once the run shows finished");
        return 0;
      });
      return pending === undefined ? plan.status : plan.statusWhileReleasing;
    }
    case "Cleanup":
      await executor.cleanup(asAttempt(current), ctx);
      return plan.status;
  }
}

async function finalize(run: TrainingRun, deps: TrainingRunDeps, ctx: ProviderContext): Promise<Result> {
  if (!hasFinalizer(run, FINALIZER)) return done();
  const targetName = run.status?.target;
  const config = run.status?.runConfiguration;
  const target = targetName ? deps.kube.get<ComputeTarget>(Kinds.ComputeTarget, { namespace: run.metadata.namespace ?? "", name: targetName }) : undefined;
  const executor = target ? (await deps.providers.entry(target.spec.type))?.executor : undefined;
  if (executor && target && config) {
    const base = attemptBase(run, target, config, { snapshot: digestOnly(run.status?.snapshotDigest ?? ""), environmentHash: run.status?.environmentHash ?? "" });
    const current = currentAttempt(run, executor, base);
    if (!isFinished(run) && current.handle !== undefined) await executor.cancel(asAttempt(current), ctx);
    if (!executor.ownedByRun) await executor.cleanup(asAttempt(current), ctx);
  }
  // Outputs outlive pods and Jobs, not the run: its prefix in the store goes with it.
  const deleted = await deps.runData.deleteRun(run, ctx.readSecret);
  if (deleted) ctx.log.info({ blobs: deleted }, "deleted the run's outputs and logs from the store");
  await deps.kube.patchMetadata(Kinds.TrainingRun, keyOf(run), { finalizers: withoutFinalizer(run, FINALIZER) }, run.metadata.resourceVersion);
  return done();
}

function recordTransition(kube: KubeClient, run: TrainingRun, status: TrainingRunStatus): void {
  if (status.phase === run.status?.phase) return;
  const cond = status.conditions?.find((c) => c.type === "Succeeded");
  // A run created suspended (e.g. queued by Kueue) is not news; thousands of them must not mean thousands of Events.
  if (cond?.reason === "Suspended") return;
  const warning = status.phase === "Failed" || cond?.severity === "Warning";
  // The phase itself is in status (kubectl get shows it); an Event per phase change cost every run
  // four extra writes. Events mark what someone may need to look back at: a run that failed or was
  // canceled, retries, warnings. A completed run says so in status (and its Job in its own Event).
  const unusualEnd = TERMINAL_PHASES.includes(status.phase ?? "Queued") && status.phase !== "Completed";
  if (!warning && !unusualEnd && cond?.reason !== RunReason.Retrying) return;
  kube.recordEvent(run, warning ? "Warning" : "Normal", cond?.reason ?? status.phase ?? "Unknown", `${status.phase}: ${cond?.message ?? ""}`);
}

async function reconcileRun(key: ObjectKey, deps: TrainingRunDeps, rctx: ReconcileContext): Promise<Result> {
  const read = deps.kube.get<TrainingRun>(Kinds.TrainingRun, key);
  recordSourceRefs(deps.sourceRefs, key, read);
  if (!read) {
    deps.guard?.forget(key);
    return done();
  }
  if (deps.guard?.isStale(read)) return done();
  let run = read;
  let fallback: Reason = ErrorReason.ReconcileError;
  const ctx = providerContext(deps.kube, rctx.log, new Date(deps.clock.now()), rctx.signal);
  return reportingErrors({
    kube: deps.kube, kind: Kinds.TrainingRun, current: () => run, fallback: () => fallback,
    statusFor: (verdict) => {
      const status = decideError(run, verdict, ctx.now);
      recordTransition(deps.kube, run, status);
      return status;
    },
    wrote: (before, after) => deps.guard?.wrote(before, after),
  }, async () => {
    if (run.metadata.deletionTimestamp) return finalize(run, deps, ctx);
    const services = { runData: deps.runData, ...(deps.metrics ? { metrics: deps.metrics } : {}) };
    const [finalized, gathered] = await Promise.all([willSubmit(run) ? ensureFinalizer(run, deps) : undefined, gatherRun(run, deps.providers, ctx, services)]);
    if (finalized) run = finalized;
    const plan = decideRun(run, gathered.world);
    const submits = plan.action.kind === "Submit" || plan.action.kind === "ContinueSubmit";
    // The finalizer is on before anything that writes the run's outputs exists.
    if (submits) run = await ensureFinalizer(run, deps);
    // A submit that fails without a reason of its own failed as a submission.
    if (submits) fallback = RunReason.SubmissionFailed;
    const status = await act({ run, plan, gathered }, deps, ctx);
    // Events follow the decision (a retry is news even when the new attempt already shows Starting).
    recordTransition(deps.kube, run, plan.status);
    const written = await writeStatusIfChanged(deps.kube, Kinds.TrainingRun, run, status);
    deps.guard?.wrote(run, written);
    return plan.requeueAfterMs !== undefined ? requeueAfter(plan.requeueAfterMs) : done();
  });
}

/** Maps an object to the runs it may unblock (not-yet-started, unfinished runs of the namespace naming it). */
function runsWaitingOn(kube: KubeClient, matches: (run: TrainingRun) => boolean) {
  return (obj: KubeObject): ObjectKey[] =>
    kube.list<TrainingRun>(Kinds.TrainingRun, { namespace: obj.metadata.namespace ?? "" })
      .filter((run) => !run.status?.execution && !isFinished(run) && matches(run))
      .map(keyOf);
}

export function trainingRunController(input: TrainingRunDeps): ControllerSpec {
  const deps: TrainingRunDeps = {
    ...input, guard: input.guard ?? new StaleReadGuard(),
    sourceRefs: input.sourceRefs ?? { configMaps: new ReferenceIndex(), secrets: new ReferenceIndex() },
  };
  const refs = deps.sourceRefs;
  const byLabel = (obj: KubeObject): ObjectKey[] => {
    // The annotation holds the full run name; the label only a value that fits in 63 characters.
    const name = obj.metadata.annotations?.[Annotations.run] ?? obj.metadata.labels?.[Labels.run];
    return name ? [{ namespace: obj.metadata.namespace ?? "", name }] : [];
  };
  const byEnvironment = (obj: KubeObject): ObjectKey[] => {
    const hash = obj.metadata.labels?.[Labels.envHash];
    if (!hash) return [];
    return deps.kube.list<TrainingRun>(Kinds.TrainingRun, { namespace: obj.metadata.namespace ?? "" })
      .filter((r) => r.status?.environmentHash === hash && !isFinished(r)).map(keyOf);
  };
  const managed = `${Labels.managedBy}=aml-compute-operator`;
  return {
    name: "trainingrun",
    forKind: Kinds.TrainingRun,
    concurrency: deps.concurrency ?? 4,
    // Runs already submitted first: a burst of new runs must not hold up their completion.
    isUrgent: (key) => deps.kube.get<TrainingRun>(Kinds.TrainingRun, key)?.status?.execution !== undefined,
    owns: [BuiltinKinds.Job],
    labelSelectors: { Job: managed, Pod: managed },
    watches: [
      { kind: BuiltinKinds.Job, map: byEnvironment, labelSelector: managed },
      { kind: BuiltinKinds.Pod, map: byLabel, labelSelector: managed },
      {
        kind: Kinds.ComputeTarget,
        map: (target) => {
          // Every target type's runs go through the store: its SDK loads with the first target.
          deps.runData.warm();
          return runsWaitingOn(deps.kube, () => true)(target);
        },
      },
      { kind: Kinds.RunConfiguration, map: (rc) => runsWaitingOn(deps.kube, (r) => r.spec.runConfigurationRef?.name === rc.metadata.name)(rc) },
      // A late source ConfigMap or git Secret starts the runs waiting for it (metadata only is cached).
      { kind: BuiltinKinds.ConfigMap, metadataOnly: true, map: (cm) => refs?.configMaps.referrersOf(cm) ?? [] },
      { kind: BuiltinKinds.Secret, metadataOnly: true, map: (secret) => refs?.secrets.referrersOf(secret) ?? [] },
    ],
    reconcile: (key, ctx) => reconcileRun(key, deps, ctx),
  };
}
