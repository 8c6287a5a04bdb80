/**
 * Azure ML's early termination policies, pure. Each report of the primary metric is one interval;
 * a policy is applied at interval n when n >= delayEvaluation and n is a multiple of
 * evaluationInterval. A trial's value at each such evaluation point is kept (TrialStatus.evaluations),
 * so trials are compared at the same evaluation point:
 *
 * - Bandit: stop the trial when its value is outside the slack of the best value any trial had at
 *   that point (maximize: v < best / (1 + slackFactor) or v < best - slackAmount; minimize mirrored).
 * - MedianStopping: stop the trial when its best value so far is worse than the median of every
 *   trial's running average up to that point.
 * - TruncationSelection: stop the trial when it is among the lowest truncationPercentage percent of
 *   the trials that reached that point (by value at that point).
 */
import type { EarlyTermination } from "../api/v1alpha1/index.js";

export type Goal = "Maximize" | "Minimize";

/** Evaluation points kept per trial (the status bound). */
export const MAX_EVALUATIONS = 100;

/** How many evaluation points `reports` reports of the metric have passed. */
export function evaluationPoints(reports: number, policy: EarlyTermination): number {
  let n = 0;
  for (let r = 1; r <= reports; r++) if (r >= policy.delayEvaluation && r % policy.evaluationInterval === 0) n++;
  return n;
}

/**
 * The trial's evaluations after `reports` reports with latest value `value`: points passed since the
 * last look get the value seen now (the sweep sees metrics in batches, not every report).
 */
export function recordEvaluations(previous: readonly number[], latest: { reports: number; value: number | undefined }, policy: EarlyTermination): number[] {
  const { reports, value } = latest;
  const due = Math.min(MAX_EVALUATIONS, evaluationPoints(reports, policy));
  if (value === undefined || due <= previous.length) return [...previous];
  return [...previous, ...Array.from({ length: due - previous.length }, () => value)];
}

const better = (goal: Goal) => (a: number, b: number): boolean => (goal === "Maximize" ? a > b : a < b);
const bestOf = (goal: Goal, values: number[]): number => (goal === "Maximize" ? Math.max(...values) : Math.min(...values));

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export interface Candidate {
  readonly name: string;
  readonly evaluations: readonly number[];
  /** Only running trials can be stopped; finished ones still count as evidence. */
  readonly running: boolean;
}

export interface StopVerdict { name: string; message: string }

/** One trial at one evaluation point, and the values of every trial at that point. */
interface Judged { at: number; v: number; peers: number[] }

function bandit(policy: EarlyTermination, goal: Goal, { at, v, peers }: Judged): string | undefined {
  const best = bestOf(goal, peers);
  const limits: number[] = [];
  if (policy.slackFactor !== undefined) limits.push(goal === "Maximize" ? best / (1 + policy.slackFactor) : best * (1 + policy.slackFactor));
  if (policy.slackAmount !== undefined) limits.push(goal === "Maximize" ? best - policy.slackAmount : best + policy.slackAmount);
  const outside = limits.some((limit) => (goal === "Maximize" ? v < limit : v > limit));
  return outside ? `Bandit: ${v} at evaluation ${at + 1} is outside the slack of the best (${best})` : undefined;
}

function medianStopping(goal: Goal, at: number, own: readonly number[], all: Candidate[]): string | undefined {
  const averages = all.filter((c) => c.evaluations.length > at).map((c) => c.evaluations.slice(0, at + 1).reduce((a, b) => a + b, 0) / (at + 1));
  const m = median(averages);
  const ownBest = bestOf(goal, own.slice(0, at + 1));
  return better(goal)(m, ownBest) ? `MedianStopping: best ${ownBest} by evaluation ${at + 1} is worse than the median of running averages (${m})` : undefined;
}

function truncation(policy: EarlyTermination, goal: Goal, { at, name }: { at: number; name: string }, all: Candidate[]): string | undefined {
  const reached = all.filter((c) => c.evaluations.length > at);
  const cut = Math.floor((reached.length * (policy.truncationPercentage ?? 0)) / 100);
  if (cut === 0) return undefined;
  const worstFirst = [...reached].sort((a, b) => (better(goal)(a.evaluations[at] ?? 0, b.evaluations[at] ?? 0) ? 1 : -1));
  const lowest = worstFirst.slice(0, cut).map((c) => c.name);
  return lowest.includes(name) ? `TruncationSelection: among the lowest ${policy.truncationPercentage}% at evaluation ${at + 1}` : undefined;
}

/**
 * Running trials to stop: each is judged at every evaluation point it newly reached (index >=
 * `judgedBefore[name]`, the count of points already judged).
 */
export function trialsToStop(policy: EarlyTermination, goal: Goal, candidates: Candidate[], judgedBefore: ReadonlyMap<string, number>): StopVerdict[] {
  const stops: StopVerdict[] = [];
  for (const c of candidates) {
    if (!c.running) continue;
    for (let at = judgedBefore.get(c.name) ?? 0; at < c.evaluations.length; at++) {
      const v = c.evaluations[at] ?? 0;
      const peers = candidates.filter((o) => o.evaluations.length > at).map((o) => o.evaluations[at] ?? 0);
      const why = policy.policy === "Bandit" ? bandit(policy, goal, { at, v, peers })
        : policy.policy === "MedianStopping" ? medianStopping(goal, at, c.evaluations, candidates)
        : truncation(policy, goal, { at, name: c.name }, candidates);
      if (why) {
        stops.push({ name: c.name, message: why });
        break;
      }
    }
  }
  return stops;
}
