import { FINALIZER, Kinds, TargetReason, type ComputeTarget } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import { hasFinalizer, withFinalizer, withoutFinalizer } from "../../runtime/finalizers.js";
import type { ControllerSpec } from "../../runtime/controller-spec.js";
import { done, requeueAfter, type ReconcileContext, type Result } from "../../runtime/result.js";
import type { Clock } from "../../runtime/clock.js";
import type { ObjectKey } from "../../kube/types.js";
import type { ProviderRegistry, TargetObservation } from "../../providers/types.js";
import { classifyForCondition } from "../shared/error-condition.js";
import { providerContext } from "../shared/provider-context.js";
import { writeStatusIfChanged } from "../shared/status-writer.js";
import { decideTargetStatus, providerNotAvailable } from "./decide.js";

export interface ComputeTargetDeps {
  kube: KubeClient;
  providers: ProviderRegistry;
  clock: Clock;
}

async function release(target: ComputeTarget, deps: ComputeTargetDeps, ctx: ReconcileContext): Promise<Result> {
  if (!hasFinalizer(target, FINALIZER)) return done();
  const entry = await deps.providers.entry(target.spec.type);
  const now = new Date(deps.clock.now());
  const result = entry ? await entry.compute.release(target, providerContext(deps.kube, ctx.log, now, ctx.signal)) : { done: true };
  if (!result.done) {
    const status = decideTargetStatus(target, {
      ready: { status: "False", reason: TargetReason.Deleting, severity: "Info", message: "releasing the compute" },
      ...(result.status ? { status: result.status } : {}),
    }, now);
    await writeStatusIfChanged(deps.kube, Kinds.ComputeTarget, target, status);
    return requeueAfter(result.requeueAfterMs ?? 5_000);
  }
  await deps.kube.patchMetadata(Kinds.ComputeTarget, { namespace: target.metadata.namespace ?? "", name: target.metadata.name ?? "" },
    { finalizers: withoutFinalizer(target, FINALIZER) }, target.metadata.resourceVersion);
  ctx.log.info("Released compute target");
  return done();
}

async function reconcileTarget(key: ObjectKey, deps: ComputeTargetDeps, ctx: ReconcileContext): Promise<Result> {
  let target = deps.kube.get<ComputeTarget>(Kinds.ComputeTarget, key);
  if (!target) return done();
  if (target.metadata.deletionTimestamp) return release(target, deps, ctx);
  const entry = await deps.providers.entry(target.spec.type);
  const now = new Date(deps.clock.now());
  const needsFinalizer = typeof entry?.needsFinalizer === "function" ? entry.needsFinalizer(target) : entry?.needsFinalizer;
  if (needsFinalizer && !hasFinalizer(target, FINALIZER)) {
    target = await deps.kube.patchMetadata<ComputeTarget>(Kinds.ComputeTarget, key, { finalizers: withFinalizer(target, FINALIZER) }, target.metadata.resourceVersion);
  }
  let obs: TargetObservation;
  let failure: unknown;
  try {
    obs = entry ? await entry.compute.ensure(target, providerContext(deps.kube, ctx.log, now, ctx.signal)) : providerNotAvailable(target.spec.type);
  } catch (err) {
    const verdict = classifyForCondition(err, TargetReason.AzureError);
    obs = { ready: { status: "False", reason: verdict.reason, severity: verdict.severity, message: verdict.message } };
    if (verdict.retry) failure = err;
  }
  const before = target.status?.conditions?.find((c) => c.type === "Ready");
  await writeStatusIfChanged(deps.kube, Kinds.ComputeTarget, target, decideTargetStatus(target, obs, now));
  if (before?.status !== obs.ready.status || before.reason !== obs.ready.reason) {
    deps.kube.recordEvent(target, obs.ready.status === "True" ? "Normal" : "Warning", obs.ready.reason, obs.ready.message);
  }
  if (failure) throw failure;
  return obs.requeueAfterMs ? requeueAfter(obs.requeueAfterMs) : done();
}

export function computeTargetController(deps: ComputeTargetDeps): ControllerSpec {
  return {
    name: "computetarget",
    forKind: Kinds.ComputeTarget,
    concurrency: 2,
    reconcile: (key, ctx) => reconcileTarget(key, deps, ctx),
  };
}
