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

/** What every trial that reached one evaluation point had there (the policies' evidence). */
interface Point { values: number[]; averages: number[] }

/** Per evaluation point: the values and running averages of the trials that reached it. */
function evidence(candidates: readonly Candidate[]): Point[] {
  const depth = Math.max(0, ...candidates.map((c) => c.evaluations.length));
  const points: Point[] = Array.from({ length: depth }, () => ({ values: [], averages: [] }));
  for (const c of candidates) {
    let sum = 0;
    c.evaluations.forEach((v, at) => {
      sum += v;
      points[at]?.values.push(v);
      points[at]?.averages.push(sum / (at + 1));
    });
  }
  return points;
}

/** One running trial's value at one evaluation point, with what every trial had there. */
interface Judged { at: number; v: number; point: Point }

function bandit(policy: EarlyTermination, goal: Goal, { at, v, point }: Judged): string | undefined {
  const best = bestOf(goal, point.values);
  const limits: number[] = [];
  if (policy.slackFactor !== undefined) limits.push(goal === "Maximize" ? best / (1 + policy.slackFactor) : best * (1 + policy.slackFactor));
  if (policy.slackAmount !== undefined) limits.push(goal === "Maximize" ? best - policy.slackAmount : best + policy.slackAmount);
  const outside = limits.some((limit) => (goal === "Maximize" ? v < limit : v > limit));
  return outside ? `Bandit: ${v} at evaluation ${at + 1} is outside the slack of the best (${best})` : undefined;
}

function medianStopping(goal: Goal, at: number, own: readonly number[], point: Point): string | undefined {
  const m = median(point.averages);
  const ownBest = bestOf(goal, own.slice(0, at + 1));
  return better(goal)(m, ownBest) ? `MedianStopping: best ${ownBest} by evaluation ${at + 1} is worse than the median of running averages (${m})` : undefined;
}

function truncation(policy: EarlyTermination, goal: Goal, { at, v, point }: Judged): string | undefined {
  const cut = Math.floor((point.values.length * (policy.truncationPercentage ?? 0)) / 100);
  if (cut === 0) return undefined;
  // Among the lowest when strictly worse than the best value below the cut (ties there are kept).
  const worstFirst = [...point.values].sort((a, b) => (better(goal)(a, b) ? 1 : better(goal)(b, a) ? -1 : 0));
  const firstKept = worstFirst[cut];
  return firstKept !== undefined && better(goal)(firstKept, v)
    ? `TruncationSelection: among the lowest ${policy.truncationPercentage}% at evaluation ${at + 1}` : undefined;
}

/**
 * Running trials to stop. Every running trial is judged at every evaluation point it reached,
 * against every trial that reached the same point, whenever the policy runs: the verdict must not
 * depend on the order in which the sweep happened to see the trials' reports (a trial seen ahead
 * of the others is judged again once they catch up).
 */
export function trialsToStop(policy: EarlyTermination, goal: Goal, candidates: readonly Candidate[]): StopVerdict[] {
  const points = evidence(candidates);
  const stops: StopVerdict[] = [];
  for (const c of candidates) {
    if (!c.running) continue;
    for (let at = 0; at < c.evaluations.length; at++) {
      const v = c.evaluations[at] ?? 0;
      const point = points[at] ?? { values: [v], averages: [v] };
      const why = policy.policy === "Bandit" ? bandit(policy, goal, { at, v, point })
        : policy.policy === "MedianStopping" ? medianStopping(goal, at, c.evaluations, point)
        : truncation(policy, goal, { at, v, point });
      if (why) {
        stops.push({ name: c.name, message: why });
        break;
      }
    }
  }
  return stops;
}
