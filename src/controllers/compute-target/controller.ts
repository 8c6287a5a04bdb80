import { ErrorReason, FINALIZER, Kinds, TargetReason, type ComputeTarget } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import { hasFinalizer, withFinalizer, withoutFinalizer } from "../../runtime/finalizers.js";
import type { ControllerSpec } from "../../runtime/controller-spec.js";
import { done, requeueAfter, type ReconcileContext, type Result } from "../../runtime/result.js";
import type { Clock } from "../../runtime/clock.js";
import { BuiltinKinds, type ObjectKey } from "../../kube/types.js";
import type { ProviderEntry, ProviderRegistry, TargetObservation } from "../../providers/types.js";
import { reportingErrors, type ErrorVerdict } from "../shared/error-condition.js";
import { providerContext } from "../shared/provider-context.js";
import { ReferenceIndex } from "../shared/referrer-index.js";
import { writeStatusIfChanged } from "../shared/status-writer.js";
import { decideTargetStatus, providerNotAvailable } from "./decide.js";
import { secretsReferencedBy } from "./references.js";

export interface ComputeTargetDeps {
  kube: KubeClient;
  providers: ProviderRegistry;
  clock: Clock;
  /** Secret name → targets naming it; the controller creates one when not given. */
  secretRefs?: ReferenceIndex;
}

async function release(target: ComputeTarget, entry: ProviderEntry | undefined, deps: ComputeTargetDeps, ctx: ReconcileContext): Promise<Result> {
  if (!hasFinalizer(target, FINALIZER)) return done();
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

async function ensure(target: ComputeTarget, entry: ProviderEntry | undefined, deps: ComputeTargetDeps, ctx: ReconcileContext): Promise<Result> {
  const now = new Date(deps.clock.now());
  const obs: TargetObservation = entry ? await entry.compute.ensure(target, providerContext(deps.kube, ctx.log, now, ctx.signal)) : providerNotAvailable(target.spec.type);
  await writeStatusIfChanged(deps.kube, Kinds.ComputeTarget, target, decideTargetStatus(target, obs, now));
  recordReadyChange(deps.kube, target, obs.ready);
  return obs.requeueAfterMs ? requeueAfter(obs.requeueAfterMs) : done();
}

function recordReadyChange(kube: KubeClient, target: ComputeTarget, ready: TargetObservation["ready"]): void {
  const before = target.status?.conditions?.find((c) => c.type === "Ready");
  if (before?.status !== ready.status || before.reason !== ready.reason) {
    kube.recordEvent(target, ready.status === "True" ? "Normal" : "Warning", ready.reason, ready.message);
  }
}

/** Ready=False with the error's reason; a deleting target says the release failed. */
function errorReady(target: ComputeTarget, verdict: ErrorVerdict): TargetObservation["ready"] {
  const deleting = target.metadata.deletionTimestamp !== undefined;
  return { status: "False", reason: verdict.reason, severity: verdict.severity, message: deleting ? `releasing the compute failed: ${verdict.message}` : verdict.message };
}

async function reconcileTarget(key: ObjectKey, deps: ComputeTargetDeps, ctx: ReconcileContext): Promise<Result> {
  const read = deps.kube.get<ComputeTarget>(Kinds.ComputeTarget, key);
  if (!read) {
    deps.secretRefs?.forget(key);
    return done();
  }
  deps.secretRefs?.record(key, read.metadata.deletionTimestamp ? [] : secretsReferencedBy(read));
  let target = read;
  // The provider's own errors carry its reason (Unreachable, AzureError...); an unclassified one is
  // a ReconcileError, whatever the target type.
  return reportingErrors({
    kube: deps.kube, kind: Kinds.ComputeTarget, current: () => target, fallback: () => ErrorReason.ReconcileError,
    statusFor: (verdict) => {
      const ready = errorReady(target, verdict);
      recordReadyChange(deps.kube, target, ready);
      return decideTargetStatus(target, { ready }, new Date(deps.clock.now()));
    },
  }, async () => {
    const entry = await deps.providers.entry(read.spec.type);
    if (read.metadata.deletionTimestamp) return release(read, entry, deps, ctx);
    const needsFinalizer = typeof entry?.needsFinalizer === "function" ? entry.needsFinalizer(read) : entry?.needsFinalizer;
    if (needsFinalizer && !hasFinalizer(read, FINALIZER)) {
      target = await deps.kube.patchMetadata<ComputeTarget>(Kinds.ComputeTarget, key, { finalizers: withFinalizer(read, FINALIZER) }, read.metadata.resourceVersion);
    }
    return ensure(target, entry, deps, ctx);
  });
}

/**
 * Targets, and the Secrets they name: a Secret created or changed (credentials rotated, a late
 * known_hosts) brings its targets back at once instead of at the next resync. Secrets are cached
 * as metadata only; their data is read live, by name, when a target needs it.
 */
export function computeTargetController(input: ComputeTargetDeps): ControllerSpec {
  const deps: ComputeTargetDeps = { ...input, secretRefs: input.secretRefs ?? new ReferenceIndex() };
  return {
    name: "computetarget",
    forKind: Kinds.ComputeTarget,
    concurrency: 2,
    // A probe records lastProbeTime: that write must not trigger the next probe (it did, in a loop).
    // Targets come back on a spec or metadata change, a Secret they name, or their requeueAfter.
    ignoreStatusOnlyUpdates: true,
    watches: [{ kind: BuiltinKinds.Secret, metadataOnly: true, map: (secret) => deps.secretRefs?.referrersOf(secret) ?? [] }],
    reconcile: (key, ctx) => reconcileTarget(key, deps, ctx),
  };
}
