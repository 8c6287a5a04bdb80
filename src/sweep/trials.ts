/**
 * Trials are TrainingRuns owned by their Sweep, named `<sweep>-<index>`: a deterministic name is
 * what makes sweeps crash-safe (creating trial n twice finds it already there; a restart adopts
 * every trial it finds by label and owner). Pure helpers.
 */
import {
  Annotations, API_VERSION, Kinds, Labels, MANAGED_BY_VALUE, RunReason,
  type Sweep, type TrainingRun, type TrialPhase, type TrialStatus,
} from "../api/v1alpha1/index.js";
import { metricOf } from "../metrics/summary.js";
import type { Point } from "./space.js";

/** ≤ 63 characters so the name also fits in label values (Jobs, pods). */
export function trialName(sweepName: string, index: number): string {
  const suffix = `-${index}`;
  return `${sweepName.slice(0, 63 - suffix.length).replace(/[-.]+$/, "")}${suffix}`;
}

export const envName = (param: string): string => param.toUpperCase().replace(/[^A-Z0-9_]/g, "_");

/** The TrainingRun of trial `index` with `point`: the template plus the parameters and the metric. */
export function buildTrial(sweep: Sweep, index: number, point: Point, templateEnvironment: Record<string, string>): TrainingRun {
  const template = sweep.spec.trialTemplate;
  const spec: Record<string, unknown> = { ...template, primaryMetric: sweep.spec.primaryMetric.name };
  if (sweep.spec.parameterPassing === "Environment") {
    const env = Object.fromEntries(Object.entries(point).map(([k, v]) => [envName(k), v]));
    const overrides = (template.runConfiguration ?? {}) as Record<string, unknown>;
    // An override replaces the RunConfiguration's variables as a whole: start from them.
    const base = { ...templateEnvironment, ...((overrides.environmentVariables as Record<string, string> | undefined) ?? {}) };
    spec.runConfiguration = { ...overrides, environmentVariables: { ...base, ...env } };
  } else {
    const args = Object.entries(point).flatMap(([k, v]) => [`--${k}`, v]);
    if (template.script) spec.arguments = [...(template.arguments ?? []), ...args];
    else spec.command = [...(template.command ?? []), ...args];
  }
  return {
    apiVersion: API_VERSION, kind: Kinds.TrainingRun.kind,
    metadata: {
      name: trialName(sweep.metadata.name ?? "", index), namespace: sweep.metadata.namespace ?? "",
      labels: { [Labels.sweep]: sweep.metadata.name ?? "", [Labels.trialIndex]: String(index), [Labels.managedBy]: MANAGED_BY_VALUE },
      annotations: { [Annotations.trialParameters]: JSON.stringify(point) },
      ownerReferences: [{
        apiVersion: API_VERSION, kind: Kinds.Sweep.kind, name: sweep.metadata.name ?? "", uid: sweep.metadata.uid ?? "",
        controller: true, blockOwnerDeletion: true,
      }],
    },
    spec: spec as TrainingRun["spec"],
  };
}

/** The trial index of a TrainingRun this sweep owns; undefined for anything else. */
export function trialIndexOf(run: TrainingRun, sweep: Sweep): number | undefined {
  const owned = run.metadata.ownerReferences?.some((r) => r.controller && r.uid === sweep.metadata.uid);
  const raw = run.metadata.labels?.[Labels.trialIndex];
  const index = raw !== undefined ? Number(raw) : NaN;
  return owned && Number.isInteger(index) && index >= 0 ? index : undefined;
}

export function trialParameters(run: TrainingRun): Point {
  try {
    const parsed = JSON.parse(run.metadata.annotations?.[Annotations.trialParameters] ?? "{}") as unknown;
    return parsed && typeof parsed === "object" ? Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)])) : {};
  } catch {
    return {};
  }
}

function phaseOf(run: TrainingRun): TrialPhase {
  switch (run.status?.phase) {
    case "Completed": return "Completed";
    case "Failed": return "Failed";
    case "Canceled": return run.metadata.annotations?.[Annotations.stoppedBy] ? "EarlyTerminated" : "Canceled";
    case "Running": case "Finalizing": return "Running";
    case "Queued": case "Preparing": case "Provisioning": case "Starting": case undefined: return "Pending";
  }
}

export const isActive = (phase: TrialPhase): boolean => phase === "Pending" || phase === "Running";

/** A trial's status from its TrainingRun (plus what the sweep recorded before: evaluations). */
export function trialStatusOf(run: TrainingRun, index: number, metricName: string, previous: TrialStatus | undefined): TrialStatus {
  const phase = phaseOf(run);
  const metric = metricOf(run.status?.metrics, metricName);
  const ended = !isActive(phase);
  const succeeded = run.status?.conditions?.find((c) => c.type === "Succeeded");
  let message: string | undefined;
  if (phase === "EarlyTerminated") message = run.metadata.annotations?.[Annotations.stoppedBy];
  else if (ended && !metric) message = `ended without reporting ${metricName}`;
  else if (phase === "Failed" && succeeded?.reason && succeeded.reason !== RunReason.Completed) message = `${succeeded.reason}: ${succeeded.message}`;
  return {
    name: run.metadata.name ?? "", index, parameters: trialParameters(run), phase,
    ...(metric ? { metric: metric.value, reports: metric.count } : {}),
    ...(previous?.evaluations?.length ? { evaluations: previous.evaluations } : {}),
    ...(message ? { message: message.slice(0, 512) } : {}),
  };
}
