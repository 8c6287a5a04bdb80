import { ErrorReason, Kinds, type ComputeTarget, type RunConfiguration } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import { keyOf, type KubeObject, type ObjectKey } from "../../kube/types.js";
import type { ProviderRegistry } from "../../providers/types.js";
import type { Clock } from "../../runtime/clock.js";
import type { ControllerSpec } from "../../runtime/controller-spec.js";
import { done, type Result } from "../../runtime/result.js";
import { reportingErrors } from "../shared/error-condition.js";
import { writeStatusIfChanged } from "../shared/status-writer.js";
import { decideRunConfigurationStatus, type RunConfigurationWorld } from "./decide.js";

export interface RunConfigurationDeps {
  kube: KubeClient;
  providers: ProviderRegistry;
  clock: Clock;
}

/** Read-only: the target the configuration names and what its provider says about the configuration. */
async function gather(rc: RunConfiguration, deps: RunConfigurationDeps): Promise<RunConfigurationWorld> {
  const target = deps.kube.get<ComputeTarget>(Kinds.ComputeTarget, { namespace: rc.metadata.namespace ?? "", name: rc.spec.computeTargetRef.name });
  if (!target) return {};
  const entry = await deps.providers.entry(target.spec.type);
  const problem = entry?.validate(rc.spec, target);
  return { target, ...(problem ? { problem } : {}) };
}

async function reconcile(key: ObjectKey, deps: RunConfigurationDeps): Promise<Result> {
  const rc = deps.kube.get<RunConfiguration>(Kinds.RunConfiguration, key);
  if (!rc) return done();
  const now = new Date(deps.clock.now());
  return reportingErrors({
    kube: deps.kube, kind: Kinds.RunConfiguration, current: () => rc, fallback: () => ErrorReason.ReconcileError,
    statusFor: (failure) => decideRunConfigurationStatus(rc, { failure }, now),
  }, async () => {
    const world = await gather(rc, deps);
    await writeStatusIfChanged(deps.kube, Kinds.RunConfiguration, rc, decideRunConfigurationStatus(rc, world, now));
    return done();
  });
}

export function runConfigurationController(deps: RunConfigurationDeps): ControllerSpec {
  const configsUsing = (target: KubeObject): ObjectKey[] =>
    deps.kube.list<RunConfiguration>(Kinds.RunConfiguration, { namespace: target.metadata.namespace ?? "" })
      .filter((rc) => rc.spec.computeTargetRef.name === target.metadata.name)
      .map(keyOf);
  return {
    name: "runconfiguration",
    forKind: Kinds.RunConfiguration,
    watches: [{ kind: Kinds.ComputeTarget, map: configsUsing }],
    reconcile: (key) => reconcile(key, deps),
  };
}
