import { Kinds, Labels, type RunConfiguration, type Sweep, type TrainingRun } from "../../api/v1alpha1/index.js";
import type { KubeClient } from "../../kube/client.js";
import { spaceProblem, seedOf } from "../../sweep/space.js";
import type { Suggester, SuggestionRequest } from "../../sweep/suggestion/client.js";
import { currentTrials, openSlots, type SweepWorld } from "./decide.js";

const isFinished = (sweep: Sweep): boolean => ["Completed", "Failed", "Canceled"].includes(sweep.status?.phase ?? "");

/** Optuna's random start-up trials before TPE models the history: a quarter of the budget, 2 to 10. */
const startupTrials = (maxTrials: number): number => Math.min(10, Math.max(2, Math.floor(maxTrials / 4)));

/** The history a stateless suggestion request carries: every trial with its outcome. */
export function suggestionRequest(sweep: Sweep, runs: readonly TrainingRun[], count: number): SuggestionRequest {
  const trials = currentTrials(sweep, runs).map((t) => {
    if (t.phase === "Completed" && t.metric !== undefined) return { parameters: t.parameters, state: "COMPLETE" as const, value: t.metric };
    return { parameters: t.parameters, state: t.phase === "Pending" || t.phase === "Running" ? ("RUNNING" as const) : ("FAIL" as const) };
  });
  return {
    algorithm: sweep.spec.bayesianSampler, goal: sweep.spec.primaryMetric.goal,
    seed: sweep.spec.randomSeed ?? seedOf(sweep.metadata.uid ?? ""), startupTrials: startupTrials(sweep.spec.maxTrials),
    space: sweep.spec.parameters, trials, count,
  };
}

/** Reads the sweep's trials from the cache and, for Bayesian sampling with free slots, asks for suggestions. */
export async function gatherSweep(sweep: Sweep, kube: KubeClient, suggester: Suggester | undefined, now: Date): Promise<SweepWorld> {
  const namespace = sweep.metadata.namespace ?? "";
  const runs = kube.list<TrainingRun>(Kinds.TrainingRun, { namespace, labels: { [Labels.sweep]: sweep.metadata.name ?? "" } });
  const ref = sweep.spec.trialTemplate.runConfigurationRef;
  const rc = ref && sweep.spec.parameterPassing === "Environment" ? kube.get<RunConfiguration>(Kinds.RunConfiguration, { namespace, name: ref.name }) : undefined;
  const world: SweepWorld = { now, runs, templateEnvironment: rc?.spec.environmentVariables ?? {} };
  const wantsSuggestions = sweep.spec.samplingAlgorithm === "Bayesian" && !isFinished(sweep) && !sweep.spec.cancel && !sweep.spec.suspend && !spaceProblem(sweep.spec);
  if (!wantsSuggestions) return world;
  const slots = openSlots(sweep, currentTrials(sweep, runs));
  if (slots === 0) return world;
  if (!suggester) return { ...world, suggestionError: "this operator runs without a suggestion process (SUGGESTION_PYTHON)" };
  try {
    return { ...world, suggestions: await suggester.suggest(suggestionRequest(sweep, runs, slots)) };
  } catch (err) {
    return { ...world, suggestionError: err instanceof Error ? err.message : String(err) };
  }
}
