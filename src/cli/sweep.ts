/**
 * `kubectl aml sweep DIR -f sweep.yaml`: snapshots DIR into the namespace's store (as `submit`
 * does), creates the Sweep from the manifest with that snapshot as its trials' source, and follows
 * it — trials by phase, each trial as it ends, the best so far — until it ends or the user presses
 * Ctrl-C (which stops following, never the sweep). `kubectl aml sweep status NAME [-w]` shows (and
 * with --watch follows) an existing one.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { API_VERSION, Kinds, type Sweep, type TrialStatus } from "../api/v1alpha1/index.js";
import type { BlobStore } from "../data-plane/store.js";
import { formatTable, namePrefix, uploadDirectory, UsageError, type Io } from "./commands.js";
import type { CliKube } from "./kube.js";

const POLL_MS = 2000;
const FINISHED = new Set(["Completed", "Failed", "Canceled"]);

export const isSweepFinished = (s: Sweep): boolean => FINISHED.has(s.status?.phase ?? "");

export interface SweepSubmitOptions { dir: string; file: string; name?: string; follow: boolean }

/** Output streams, and the signal that stops following (Ctrl-C). */
export interface FollowIo extends Io { signal: AbortSignal }

/** The Sweep to create: the manifest with DIR's snapshot as the trials' source. */
export function sweepFromManifest(manifest: unknown, o: { dir: string; name?: string; namespace: string; digest: string }): Sweep {
  const m = manifest as Partial<Sweep> | null;
  if (!m || typeof m !== "object" || m.kind !== Kinds.Sweep.kind) throw new UsageError(`the manifest must be one object of kind ${Kinds.Sweep.kind} (apiVersion ${API_VERSION})`);
  if (!m.spec?.trialTemplate) throw new UsageError("the manifest has no spec.trialTemplate");
  const name = o.name ?? m.metadata?.name;
  return {
    ...m,
    apiVersion: API_VERSION, kind: Kinds.Sweep.kind,
    metadata: {
      ...(m.metadata ?? {}),
      ...(name ? { name } : { generateName: namePrefix(o.dir) }),
      namespace: o.namespace,
      labels: { ...(m.metadata?.labels ?? {}), "app.kubernetes.io/created-by": "kubectl-aml" },
    },
    // The directory replaces whatever source the manifest named: that is what the command is for.
    spec: { ...m.spec, trialTemplate: { ...m.spec.trialTemplate, source: { snapshot: { digest: o.digest } } } },
  } as Sweep;
}

export async function submitSweep(kube: CliKube, store: () => Promise<BlobStore>, o: SweepSubmitOptions, io: FollowIo): Promise<number> {
  const text = readFileSync(o.file, "utf8");
  let manifest: unknown;
  try {
    manifest = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${o.file}: ${(err as Error).message}`);
  }
  // Validate before uploading anything.
  sweepFromManifest(manifest, { dir: o.dir, namespace: kube.namespace, digest: "", ...(o.name ? { name: o.name } : {}) });
  const digest = await uploadDirectory(o.dir, store, io);
  if (io.signal.aborted) {
    io.err.write("interrupted: no Sweep created\n");
    return 130;
  }
  const created = await kube.createSweep(sweepFromManifest(manifest, { dir: o.dir, namespace: kube.namespace, digest, ...(o.name ? { name: o.name } : {}) }));
  const name = created.metadata?.name ?? "";
  io.out.write(`sweep.amlcompute.dev/${name} created\n`);
  if (!o.follow) return 0;
  return followSweep(kube, name, io);
}

export async function sweepStatus(kube: CliKube, name: string, watch: boolean, io: FollowIo): Promise<number> {
  if (watch) return followSweep(kube, name, io);
  const sweep = await kube.getSweep(name);
  io.out.write(sweepReport(sweep));
  return 0;
}

/** Polls the sweep, printing what changed, until it ends (exit 0 when Completed) or `io.signal` aborts (130). */
export async function followSweep(kube: CliKube, name: string, io: FollowIo): Promise<number> {
  let previous: Sweep | undefined;
  for (;;) {
    const sweep = await kube.getSweep(name);
    io.out.write(changes(previous, sweep).join(""));
    previous = sweep;
    if (isSweepFinished(sweep)) {
      io.out.write(sweepReport(sweep));
      return sweep.status?.phase === "Completed" ? 0 : 1;
    }
    if (await stopped(io.signal, POLL_MS)) {
      io.err.write(`stopped following; sweep/${name} goes on (kubectl aml sweep status ${name} --watch)\n`);
      return 130;
    }
  }
}

/** Waits `ms`; true when the signal aborted first. */
function stopped(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const succeeded = (s: Sweep) => s.status?.conditions?.find((c) => c.type === "Succeeded");

/** "3 running, 1 pending, 2 completed, 1 early-terminated (7 of 8)": the non-zero counts. */
export function countsLine(s: Sweep): string {
  const c = s.status?.trialCounts;
  if (!c) return `0 of ${s.spec.maxTrials} trials`;
  const parts = ([["running", c.running], ["pending", c.pending], ["completed", c.completed], ["early-terminated", c.earlyTerminated], ["failed", c.failed], ["canceled", c.canceled]] as const)
    .filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what}`);
  return `${parts.join(", ") || "no trials"} (${c.total} of ${s.spec.maxTrials})`;
}

const metricText = (s: Sweep, value: number | undefined): string => (value === undefined ? "" : `${s.spec.primaryMetric.name}=${Number(value.toPrecision(6))}`);
const paramsText = (p: Record<string, string>): string => Object.entries(p).map(([k, v]) => `${k}=${v}`).join(" ");

export function bestLine(s: Sweep): string | undefined {
  const b = s.status?.bestTrial;
  return b ? `${isSweepFinished(s) ? "best" : "best so far"}: ${b.name} ${metricText(s, b.metric)} (${paramsText(b.parameters)})` : undefined;
}

/** Lines for what changed between two looks at the sweep (everything on the first look). */
export function changes(before: Sweep | undefined, after: Sweep): string[] {
  const lines: string[] = [];
  const name = after.metadata?.name ?? "";
  const cond = succeeded(after);
  if (!before || before.status?.phase !== after.status?.phase || succeeded(before)?.reason !== cond?.reason) {
    lines.push(`sweep/${name}: ${after.status?.phase ?? "Pending"}${cond?.message ? ` (${cond.reason}: ${cond.message})` : ""}\n`);
  }
  const was = new Map((before?.status?.trials ?? []).map((t) => [t.name, t]));
  for (const t of after.status?.trials ?? []) {
    const old = was.get(t.name);
    if (old?.phase === t.phase) continue;
    lines.push(`  ${t.name}: ${t.phase} ${[metricText(after, t.metric), paramsText(t.parameters), t.message ?? ""].filter(Boolean).join("  ")}\n`);
  }
  if (countsLine(after) !== (before ? countsLine(before) : "")) lines.push(`trials: ${countsLine(after)}\n`);
  const best = bestLine(after);
  if (best && best !== (before ? bestLine(before) : undefined)) lines.push(`${best}\n`);
  return lines;
}

/** The whole sweep: its state, a table of trials and the best one. */
export function sweepReport(s: Sweep): string {
  const cond = succeeded(s);
  const head = `sweep/${s.metadata?.name}: ${s.status?.phase ?? "Pending"}${cond ? ` — ${cond.reason}${cond.message ? `: ${cond.message}` : ""}` : ""}\n`;
  const params = s.spec.parameters.map((p) => p.name);
  const rows = (s.status?.trials ?? []).map((t: TrialStatus) => [
    t.name, t.phase, ...params.map((p) => t.parameters[p] ?? ""), t.metric === undefined ? "" : String(Number(t.metric.toPrecision(6))), t.message ?? "",
  ]);
  const table = rows.length ? formatTable(["TRIAL", "PHASE", ...params.map((p) => p.toUpperCase()), s.spec.primaryMetric.name.toUpperCase(), "MESSAGE"], rows) : "";
  const best = bestLine(s);
  return `${head}${table}trials: ${countsLine(s)}\n${best ? `${best}\n` : ""}`;
}
