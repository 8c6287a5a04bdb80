import { BuiltinKinds, type KubeObject } from "../../kube/types.js";
import { ConditionType, RunReason, type ComputeTarget, type RunLinks, type TrainingRun } from "../../api/v1alpha1/index.js";
import { isTrue } from "../../runtime/conditions.js";
import type { ProviderContext, ProviderRegistry, RunExecutor, RunObservation, Snapshot } from "../../providers/types.js";
import type { Prepared, RunMetricsService } from "../../metrics/service.js";
import type { SnapshotStatus } from "../../api/v1alpha1/index.js";
import { StoreError } from "../../data-plane/errors.js";
import { snapshotStatusOf, type AttemptVerdict, type RunDataPort as RunData } from "../../data-plane/run-data.js";
import { environmentHash } from "../run-configuration/environment-hash.js";
import { asAttempt, attemptBase, currentAttempt, digestOnly, type CurrentAttempt } from "./attempt.js";
import { isFinished, type RunWorld } from "./decide.js";
import { frozenTargetOf, resolveConfiguration, runIdOf, targetOf, type Problem } from "./resolve.js";

/** The run's source as a snapshot in the store (or why not yet); read-only apart from content-addressed writes. */
async function snapshotSource(run: TrainingRun, runData: RunData, ctx: ProviderContext): Promise<{ snapshot: Snapshot; status: SnapshotStatus } | Problem> {
  const outcome = await runData.resolveSource(run, {
    readSecret: ctx.readSecret,
    readConfigMap: (namespace, name) => ctx.kube.read<KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> }>(BuiltinKinds.ConfigMap, { namespace, name }),
  });
  if ("problem" in outcome) return outcome.problem;
  const s = outcome.snapshot;
  return { snapshot: { ...digestOnly(s.digest), totalBytes: s.bytes }, status: snapshotStatusOf(s) };
}

/** After an attempt ended: what the runner reported (outputs, or why nothing ran). */
async function verdictOf(run: TrainingRun, attempt: number, runData: RunData, ctx: ProviderContext): Promise<AttemptVerdict | undefined> {
  try {
    return await runData.verdict(run, attempt, ctx.readSecret);
  } catch (err) {
    // Outputs are reported when the store answers again; the attempt's end is not held back.
    if (err instanceof StoreError) {
      ctx.log.warn({ reason: err.storeReason, err: err.message }, "could not read the attempt's result");
      return undefined;
    }
    throw err;
  }
}

/** How long after a run ended the controller still looks for outputs uploaded after SIGTERM. */
export const OUTPUTS_GRACE_MS = 5 * 60_000;

/**
 * A finished run whose outputs may still reach the store: "poll" (read, and look again soon) within
 * the grace period, "read" (once per reconcile) after it; undefined when there is nothing to wait for.
 */
function outputsToRead(run: TrainingRun, executor: RunExecutor, now: Date): "poll" | "read" | undefined {
  const s = run.status;
  if (!isFinished(run) || s?.outputs || !s?.execution?.handle || !s.completionTime) return undefined;
  const recent = now.getTime() - Date.parse(s.completionTime) < OUTPUTS_GRACE_MS;
  // The executor copies the outputs (and writes result.json) in release: read them once it is done.
  if (executor.collectsOutputsOnRelease) return s.execution.released ? (recent ? "poll" : "read") : undefined;
  // Canceled (or stopped at its deadline) while running: the runner uploads after SIGTERM.
  const stopped = s.phase === "Canceled" || s.conditions?.some((c) => c.type === "Succeeded" && c.reason === RunReason.DeadlineExceeded);
  return stopped && recent ? "poll" : undefined;
}

export interface Gathered {
  world: RunWorld;
  /** Present once the run has a config and a target whose provider runs attempts. */
  current?: CurrentAttempt;
  /** The run's MLflow run, prepared beside its snapshot before the first submit (when tracked). */
  tracking?: Prepared;
}

/** The executor's look at the current attempt; a handle the provider cannot read means the attempt is lost. */
async function observeCurrent(current: CurrentAttempt, ctx: ProviderContext): Promise<RunObservation> {
  if (current.handle === undefined) {
    return { state: "Lost", reason: RunReason.Lost, message: `status.execution.handle of attempt ${current.number} is not a ${current.base.target.spec.type} handle` };
  }
  return current.executor.observe(asAttempt(current), ctx);
}

/** Read-only: resolves references, snapshots the source before the first submit, observes the attempt. */
/** What gather reads besides the cluster: the run data plane, and metrics when the operator collects them. */
export interface GatherServices {
  runData: RunData;
  metrics?: RunMetricsService;
}

/** How often a started run whose target is gone (and cannot be observed without it) looks again. */
const TARGET_GONE_POLL_MS = 60_000;

/** The frozen target of a run whose executor follows attempts without the ComputeTarget (Local). */
async function observableWithout(run: TrainingRun, providers: ProviderRegistry): Promise<ComputeTarget | undefined> {
  const frozen = frozenTargetOf(run);
  const entry = frozen ? await providers.entry(frozen.spec.type) : undefined;
  return entry?.executor?.observesWithoutTarget ? frozen : undefined;
}

export async function gatherRun(run: TrainingRun, providers: ProviderRegistry, ctx: ProviderContext, services: GatherServices): Promise<Gathered> {
  const { runData, metrics } = services;
  const world: RunWorld = { now: ctx.now, runId: run.status?.runId ?? runIdOf(run) };
  const resolved = resolveConfiguration(run, ctx.kube);
  if ("problem" in resolved) return { world: { ...world, problem: resolved.problem } };
  const config = resolved.config;
  const started = run.status?.runConfiguration !== undefined && run.status.execution !== undefined;
  const target = targetOf(run, config, ctx.kube) ?? (started && !isFinished(run) ? await observableWithout(run, providers) : undefined);
  world.config = config;
  if (target) world.target = target;
  const entry = target ? await providers.entry(target.spec.type) : undefined;
  const executor = entry?.executor;
  if (started && !target && !isFinished(run)) {
    // Its attempt may well still run where it was sent: the run neither fails nor succeeds on a guess.
    world.problem = {
      reason: RunReason.ComputeTargetNotFound, terminal: false, retryAfterMs: TARGET_GONE_POLL_MS,
      message: `ComputeTarget ${run.status?.target ?? ""} was deleted while the run was active: attempt ${run.status?.execution?.attempt ?? 1} cannot be observed until a ComputeTarget of that name exists again`,
    };
    return { world };
  }
  if (!target || !entry || !executor) {
    if (target && !executor && isTrue(target.status?.conditions, ConditionType.Ready)) {
      world.problem = { reason: RunReason.ProviderNotAvailable, message: `no run executor for ${target.spec.type} targets in this operator build`, terminal: false };
    }
    return { world };
  }
  if (!started) {
    // The run's own overrides may ask what the target cannot do: the provider's verdict, before any submit.
    const invalid = entry.validate(config, target);
    if (invalid) return { world: { ...world, problem: { ...invalid, terminal: true } } };
  }
  world.executorReleases = executor.release !== undefined;
  if (executor.collectsOutputsOnRelease) world.executorCollectsOutputs = true;
  // Copying outputs (AmlCompute) takes its time and has its own later reads: it stays a step of its own.
  world.releasesWithFinish = world.executorReleases && !executor.collectsOutputsOnRelease;
  const envHash = run.status?.environmentHash ?? environmentHash(config, target);
  world.environmentHash = envHash;
  let snapshot: Snapshot | undefined;
  let tracking: Prepared | undefined;
  if (!started && isTrue(target.status?.conditions, ConditionType.Ready) && !run.spec.cancel && !run.spec.suspend) {
    // The MLflow run (whose id the script gets) does not depend on the snapshot: both at once, so
    // a submission waits for the slower of the two, not their sum. An MLflow run made for a run
    // that then waits (its source not there yet) is found again by its uid tag on the next try.
    const [s, prepared] = await Promise.all([snapshotSource(run, runData, ctx), metrics?.prepare(run, target, config, ctx)]);
    tracking = prepared;
    if ("reason" in s) return { world: { ...world, problem: s } };
    snapshot = s.snapshot;
    world.snapshot = s.snapshot;
    world.snapshotStatus = s.status;
  }
  const base = attemptBase(run, target, config, { snapshot: snapshot ?? digestOnly(run.status?.snapshotDigest ?? ""), environmentHash: envHash });
  const current = currentAttempt(run, executor, base);
  if (started && current.handleRecorded && !run.spec.cancel && !isFinished(run)) {
    world.observation = await observeCurrent(current, ctx);
    const ended = ["Succeeded", "Failed", "Lost"].includes(world.observation.state);
    if (ended) world.verdict = await verdictOf(run, current.number, runData, ctx);
    // Once per attempt end a synchronous read for the final values; otherwise whatever the
    // background collection last found (never a request per poll).
    // A run that finished between two polls never had its pod named in status: the final read
    // goes through the pod its last observation names.
    const observed = ended ? withObservedLinks(run, world.observation.links) : run;
    const collected = metrics && (ended ? await metrics.collect(observed, target, ctx) : metrics.peek(run, target, ctx));
    if (collected) world.metrics = collected;
  } else {
    const read = outputsToRead(run, executor, ctx.now);
    if (read) {
      world.verdict = await verdictOf(run, current.number, runData, ctx);
      world.awaitingOutputs = read === "poll";
    }
  }
  return { world, current, ...(tracking ? { tracking } : {}) };
}

function withObservedLinks(run: TrainingRun, links: RunLinks | undefined): TrainingRun {
  return links ? { ...run, status: { ...run.status, links: { ...run.status?.links, ...links } } } : run;
}
