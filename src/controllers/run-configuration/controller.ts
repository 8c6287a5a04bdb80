import { Kinds, type ComputeTarget, type RunConfiguration } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import { keyOf, type KubeObject } from "../../kube/types.js";
import type { Clock } from "../../runtime/clock.js";
import type { ControllerSpec } from "../../runtime/controller-spec.js";
import { done } from "../../runtime/result.js";
import { writeStatusIfChanged } from "../shared/status-writer.js";
import { decideRunConfigurationStatus } from "./decide.js";

export interface RunConfigurationDeps {
  kube: KubeClient;
  clock: Clock;
}

export function runConfigurationController(deps: RunConfigurationDeps): ControllerSpec {
  const configsUsing = (target: KubeObject): ReturnType<typeof keyOf>[] =>
    deps.kube.list<RunConfiguration>(Kinds.RunConfiguration, { namespace: target.metadata.namespace ?? "" })
      .filter((rc) => rc.spec.computeTargetRef.name === target.metadata.name)
      .map(keyOf);
  return {
    name: "runconfiguration",
    forKind: Kinds.RunConfiguration,
    watches: [{ kind: Kinds.ComputeTarget, map: configsUsing }],
    async reconcile(key) {
      const rc = deps.kube.get<RunConfiguration>(Kinds.RunConfiguration, key);
      if (!rc) return done();
      const target = deps.kube.get<ComputeTarget>(Kinds.ComputeTarget, { namespace: key.namespace, name: rc.spec.computeTargetRef.name });
      await writeStatusIfChanged(deps.kube, Kinds.RunConfiguration, rc, decideRunConfigurationStatus(rc, target, new Date(deps.clock.now())));
      return done();
    },
  };
}
