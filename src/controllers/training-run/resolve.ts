import {
  COMPUTE_TARGET_TYPES, Kinds, RunReason, type ComputeTarget, type RunConfiguration, type RunConfigurationSpec, type TrainingRun,
} from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";

export interface Problem {
  reason: string;
  message: string;
  /** The run cannot succeed without a spec change: fail it instead of waiting. */
  terminal: boolean;
  /** Look again after this long (a store that did not answer, a git fetch in flight). */
  retryAfterMs?: number;
  /** Work in progress (e.g. FetchingSource) rather than something wrong: no Warning. */
  progress?: boolean;
}

const DEFAULTS = { framework: "Python", nodeCount: 1, processCountPerNode: 1 } as const;

/** RunConfiguration spec ⊕ the run's inline overrides (top-level fields replace), defaults filled. */
export function mergeConfiguration(base: RunConfigurationSpec | undefined, overrides: Partial<RunConfigurationSpec> | undefined): RunConfigurationSpec | undefined {
  const merged = { ...DEFAULTS, ...base, ...overrides } as Partial<RunConfigurationSpec>;
  if (!merged.computeTargetRef) return undefined;
  return merged as RunConfigurationSpec;
}

/**
 * The configuration a run uses: frozen in status after the first submit, otherwise resolved now
 * from the referenced RunConfiguration and the run's overrides.
 */
export function resolveConfiguration(run: TrainingRun, kube: KubeClient): { config: RunConfigurationSpec } | { problem: Problem } {
  if (run.status?.runConfiguration) return { config: run.status.runConfiguration };
  const namespace = run.metadata.namespace ?? "";
  const ref = run.spec.runConfigurationRef;
  const rc = ref ? kube.get<RunConfiguration>(Kinds.RunConfiguration, { namespace, name: ref.name }) : undefined;
  if (ref && !rc) {
    return { problem: { reason: RunReason.RunConfigurationNotFound, message: `RunConfiguration ${ref.name} not found`, terminal: false } };
  }
  const config = mergeConfiguration(rc?.spec, run.spec.runConfiguration);
  if (!config) return { problem: { reason: RunReason.InvalidSpec, message: "no computeTargetRef in the run configuration", terminal: true } };
  return { config };
}

export function targetOf(run: TrainingRun, config: RunConfigurationSpec, kube: KubeClient): ComputeTarget | undefined {
  const name = run.status?.target ?? config.computeTargetRef.name;
  return kube.get<ComputeTarget>(Kinds.ComputeTarget, { namespace: run.metadata.namespace ?? "", name });
}

/**
 * The target as the run froze it at first submit (name and type in status), for a run whose
 * ComputeTarget was deleted while it was active: enough for executors that observe without it.
 */
export function frozenTargetOf(run: TrainingRun): ComputeTarget | undefined {
  const s = run.status;
  const type = COMPUTE_TARGET_TYPES.find((t) => t === s?.targetType);
  if (!s?.target || !type) return undefined;
  return {
    apiVersion: run.apiVersion, kind: Kinds.ComputeTarget.kind,
    metadata: { name: s.target, namespace: run.metadata.namespace ?? "" },
    spec: { type, deletionPolicy: "Detach" },
  };
}

/** What the run executes: script + arguments run by the environment's interpreter, or a command. */
export function argvOf(run: TrainingRun): { argv: string[]; interpreterNeeded: boolean } {
  if (run.spec.script) return { argv: [run.spec.script, ...(run.spec.arguments ?? [])], interpreterNeeded: true };
  return { argv: [...(run.spec.command ?? [])], interpreterNeeded: false };
}

export const runIdOf = (run: TrainingRun): string =>
  `${run.spec.experimentName}_${(run.metadata.uid ?? "").replace(/-/g, "").slice(0, 12)}`;
