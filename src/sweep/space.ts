/**
 * The parameter space, pure: validation beyond what the schema can say, Grid enumeration and
 * seeded Random draws with Azure ML's distribution semantics. Values are strings (what a script
 * receives as an argument or environment variable); numbers are written with 12 significant digits.
 */
import { createHash } from "node:crypto";
import type { SweepParameter, SweepSpec } from "../api/v1alpha1/index.js";

export type Point = Record<string, string>;

export interface SpaceProblem { reason: "InvalidSpace" | "GridLargerThanMaxTrials"; message: string }

export const formatNumber = (v: number): string => String(Number(v.toPrecision(12)));

export function gridSize(params: readonly SweepParameter[]): number {
  return params.reduce((n, p) => n * (p.values?.length ?? 0), 1);
}

/** What the schema cannot check: duplicate values, a grid that maxTrials cannot cover, kinds per algorithm. */
export function spaceProblem(spec: SweepSpec): SpaceProblem | undefined {
  if (spec.parameters.length === 0) return { reason: "InvalidSpace", message: "the parameter space is empty" };
  for (const p of spec.parameters) {
    if (p.type === "choice") {
      const values = p.values ?? [];
      if (values.length === 0) return { reason: "InvalidSpace", message: `choice parameter ${p.name} has no values` };
      const dup = values.find((v, i) => values.indexOf(v) !== i);
      if (dup !== undefined) return { reason: "InvalidSpace", message: `choice parameter ${p.name} lists "${dup}" twice` };
    } else if (["uniform", "loguniform", "quniform", "qloguniform"].includes(p.type)) {
      if (p.min === undefined || p.max === undefined || !(p.min < p.max)) return { reason: "InvalidSpace", message: `${p.type} parameter ${p.name} needs min < max` };
      if (p.type.startsWith("q") && !(p.q !== undefined && p.q > 0)) return { reason: "InvalidSpace", message: `${p.type} parameter ${p.name} needs q > 0` };
    } else if (p.mu === undefined || p.sigma === undefined || !(p.sigma > 0)) {
      return { reason: "InvalidSpace", message: `${p.type} parameter ${p.name} needs mu and sigma > 0` };
    }
  }
  if (spec.samplingAlgorithm === "Grid") {
    const other = spec.parameters.find((p) => p.type !== "choice");
    if (other) return { reason: "InvalidSpace", message: `Grid sampling takes choice parameters only; ${other.name} is ${other.type}` };
    const size = gridSize(spec.parameters);
    if (size > spec.maxTrials) {
      return { reason: "GridLargerThanMaxTrials", message: `the grid has ${size} combinations but maxTrials is ${spec.maxTrials}: raise maxTrials to ${size}, shrink the grid, or use Random sampling` };
    }
  }
  if (spec.samplingAlgorithm === "Bayesian") {
    const other = spec.parameters.find((p) => p.type === "normal" || p.type === "lognormal");
    if (other) return { reason: "InvalidSpace", message: `Bayesian sampling takes choice, uniform, loguniform, quniform and qloguniform; ${other.name} is ${other.type}` };
  }
  return undefined;
}

/** The index-th grid point (mixed radix; the last parameter varies fastest). */
export function gridPoint(params: readonly SweepParameter[], index: number): Point {
  const point: Point = {};
  let rest = index;
  for (let i = params.length - 1; i >= 0; i--) {
    const p = params[i];
    const values = p?.values ?? [];
    if (!p || values.length === 0) continue;
    point[p.name] = values[rest % values.length] ?? "";
    rest = Math.floor(rest / values.length);
  }
  return Object.fromEntries(params.map((p) => [p.name, point[p.name] ?? ""]));
}

/** A deterministic stream of uniform numbers in [0, 1) per (seed, trial index): restarts redraw the same point. */
function uniforms(seed: number, index: number): () => number {
  let counter = 0;
  return () => {
    const h = createHash("sha256").update(`${seed}:${index}:${counter++}`).digest();
    return h.readUInt32BE(0) / 2 ** 32 + h.readUInt32BE(4) / 2 ** 64;
  };
}

function normal(u: () => number): number {
  // Box-Muller; 1 - u() keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const round = (v: number, q: number): number => Math.round(v / q) * q;

function draw(p: SweepParameter, u: () => number): string {
  const lo = p.min ?? 0;
  const hi = p.max ?? 1;
  const q = p.q ?? 1;
  const mu = p.mu ?? 0;
  const sigma = p.sigma ?? 1;
  switch (p.type) {
    case "choice": {
      const values = p.values ?? [];
      return values[Math.min(values.length - 1, Math.floor(u() * values.length))] ?? "";
    }
    case "uniform": return formatNumber(lo + u() * (hi - lo));
    case "loguniform": return formatNumber(Math.exp(lo + u() * (hi - lo)));
    case "quniform": return formatNumber(round(lo + u() * (hi - lo), q));
    case "qloguniform": return formatNumber(round(Math.exp(lo + u() * (hi - lo)), q));
    case "normal": return formatNumber(mu + sigma * normal(u));
    case "lognormal": return formatNumber(Math.exp(mu + sigma * normal(u)));
  }
}

export function randomPoint(params: readonly SweepParameter[], seed: number, index: number): Point {
  const u = uniforms(seed, index);
  return Object.fromEntries(params.map((p) => [p.name, draw(p, u)]));
}

/** The default seed of a sweep: stable across restarts, different per sweep. */
export const seedOf = (uid: string): number => createHash("sha256").update(uid).digest().readUInt32BE(0) & 0x7fffffff;
