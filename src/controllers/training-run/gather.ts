import { BuiltinKinds, type KubeObject } from "../../kube/types.js";
import { ConditionType, RunReason, type TrainingRun } from "../../api/v1alpha1/index.js";
import { isTrue } from "../../runtime/conditions.js";
import type { ProviderContext, ProviderRegistry, RunObservation, Snapshot } from "../../providers/types.js";
import { buildSnapshot, checkSnapshotSize, filesOfSource } from "../../snapshot/build.js";
import { loadFrozenSnapshot } from "../../snapshot/store.js";
import type { RunMetricsService } from "../../metrics/service.js";
import { environmentHash } from "../run-configuration/environment-hash.js";
import { asAttempt, attemptBase, currentAttempt, digestOnly, type CurrentAttempt } from "./attempt.js";
import { isFinished, type RunWorld } from "./decide.js";
import { resolveConfiguration, runIdOf, targetOf, type Problem } from "./resolve.js";

/** Reads the source the run names and snapshots it; a problem when it is missing or too large. */
async function snapshotSource(run: TrainingRun, ctx: ProviderContext): Promise<Snapshot | Problem> {
  const frozen = await loadFrozenSnapshot(ctx.kube, run);
  if (frozen) return frozen;
  let data: Record<string, string> | undefined;
  if (run.spec.source.configMap) {
    const cm = await ctx.kube.read<KubeObject & { data?: Record<string, string> }>(BuiltinKinds.ConfigMap, {
      namespace: run.metadata.namespace ?? "", name: run.spec.source.configMap.name,
    });
    data = cm ? (cm.data ?? {}) : undefined;
  }
  const files = filesOfSource(run.spec.source, data);
  if (!Array.isArray(files)) return files;
  const snapshot = buildSnapshot(files);
  return checkSnapshotSize(snapshot) ?? snapshot;
}

export interface Gathered {
  world: RunWorld;
  /** Present once the run has a config and a target whose provider runs attempts. */
  current?: CurrentAttempt;
}

/** The executor's look at the current attempt; a handle the provider cannot read means the attempt is lost. */
async function observeCurrent(current: CurrentAttempt, ctx: ProviderContext): Promise<RunObservation> {
  if (current.handle === undefined) {
    return { state: "Lost", reason: RunReason.Lost, message: `status.execution.handle of attempt ${current.number} is not a ${current.base.target.spec.type} handle` };
  }
  return current.executor.observe(asAttempt(current), ctx);
}

/** Read-only: resolves references, snapshots the source before the first submit, observes the attempt. */
export async function gatherRun(run: TrainingRun, providers: ProviderRegistry, ctx: ProviderContext, metrics?: RunMetricsService): Promise<Gathered> {
  const world: RunWorld = { now: ctx.now, runId: run.status?.runId ?? runIdOf(run) };
  const resolved = resolveConfiguration(run, ctx.kube);
  if ("problem" in resolved) return { world: { ...world, problem: resolved.problem } };
  const config = resolved.config;
  const target = targetOf(run, config, ctx.kube);
  world.config = config;
  if (target) world.target = target;
  const entry = target ? await providers.entry(target.spec.type) : undefined;
  const executor = entry?.executor;
  const started = run.status?.runConfiguration !== undefined && run.status.execution !== undefined;
  if (started && !target && !isFinished(run)) {
    world.problem = { reason: RunReason.ComputeTargetNotFound, message: `ComputeTarget ${run.status?.target ?? ""} was deleted while the run was active`, terminal: true };
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
  const envHash = run.status?.environmentHash ?? environmentHash(config);
  world.environmentHash = envHash;
  let snapshot: Snapshot | undefined;
  if (!started && isTrue(target.status?.conditions, ConditionType.Ready) && !run.spec.cancel && !run.spec.suspend) {
    const s = await snapshotSource(run, ctx);
    if ("reason" in s) return { world: { ...world, problem: s } };
    snapshot = s;
    world.snapshot = s;
  }
  const base = attemptBase(run, target, config, { snapshot: snapshot ?? digestOnly(run.status?.snapshotDigest ?? ""), environmentHash: envHash });
  const current = currentAttempt(run, executor, base);
  if (started && current.handleRecorded && !run.spec.cancel && !isFinished(run)) {
    const obs = await observeCurrent(current, ctx);
    world.observation = obs;
    // Once per attempt end a synchronous read for the final values; otherwise whatever the
    // background collection last found (never a request per poll).
    const ended = obs.state === "Succeeded" || obs.state === "Failed" || obs.state === "Lost";
    const collected = metrics && (ended ? await metrics.collect(run, target, ctx) : metrics.peek(run, target, ctx));
    if (collected) world.metrics = collected;
  }
  return { world, current };
}
