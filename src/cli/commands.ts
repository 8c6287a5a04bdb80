/** The plugin's sub-commands; each returns the process exit code. */
import { basename, resolve } from "node:path";
import type { Writable } from "node:stream";
import type { ComputeTarget, TrainingRun } from "../api/v1alpha1/index.js";
import { API_VERSION } from "../api/v1alpha1/index.js";
import { formatBytes } from "../data-plane/limits.js";
import type { BlobStore } from "../data-plane/store.js";
import { uploadSnapshot } from "../data-plane/upload.js";
import { exitCodeOf, followRun, isFinished, summaryOf } from "./follow.js";
import type { CliKube } from "./kube.js";
import { UploadBar } from "./progress.js";
import { defaultHashCachePath, HashCache } from "./hash-cache.js";
import { snapshotDirectory } from "./snapshot-dir.js";

export interface Io { out: Writable; err: Writable }

export interface SubmitOptions {
  dir: string;
  script: string;
  config?: string;
  target?: string;
  args: string[];
  name?: string;
  experiment?: string;
  wait: boolean;
}

/** A DNS-1123 prefix for generateName from the directory's name. */
export function namePrefix(dir: string): string {
  const base = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
  return `${base || "run"}-`;
}

export function buildRun(o: SubmitOptions, namespace: string, digest: string): TrainingRun {
  const spec: Record<string, unknown> = {
    source: { snapshot: { digest } },
    script: o.script,
    ...(o.args.length ? { arguments: o.args } : {}),
    ...(o.config ? { runConfigurationRef: { name: o.config } } : {}),
    ...(o.target ? { runConfiguration: { computeTargetRef: { name: o.target } } } : {}),
    ...(o.experiment ? { experimentName: o.experiment } : {}),
  };
  return {
    apiVersion: API_VERSION, kind: "TrainingRun",
    metadata: {
      ...(o.name ? { name: o.name } : { generateName: namePrefix(o.dir) }), namespace,
      labels: { "app.kubernetes.io/created-by": "kubectl-aml" },
    },
    spec: spec as TrainingRun["spec"],
  };
}

/** Snapshots DIR into the store (only contents it lacks are sent), saying what it did; returns the digest. */
export async function uploadDirectory(dir: string, store: () => Promise<BlobStore>, io: Io): Promise<string> {
  const snap = await snapshotDirectory(dir, { cache: HashCache.load(defaultHashCachePath()) });
  io.err.write(`snapshot ${snap.digest}: ${snap.entries.length} files, ${formatBytes(snap.totalBytes)}` +
    `${snap.ignoreFile ? ` (${snap.ignored.length} ignored by ${snap.ignoreFile})` : ""}` +
    `${snap.unchangedFiles ? `; ${snap.unchangedFiles} unchanged since the last submit, not read again` : ""}\n`);
  const bar = new UploadBar(io.err);
  const up = await uploadSnapshot(await store(), snap.entries, { onProgress: (p) => bar.update(p) }).finally(() => bar.stop());
  io.err.write(`uploaded ${up.uploadedFiles} of ${up.files} files (${formatBytes(up.uploadedBytes)}); ${up.files - up.uploadedFiles} already in the store\n`);
  return up.digest;
}

/**
 * Snapshots DIR into the namespace's store and creates the TrainingRun naming that snapshot by digest.
 */
export async function submit(kube: CliKube, store: () => Promise<BlobStore>, o: SubmitOptions, io: Io): Promise<number> {
  if (!o.config && !o.target) throw new UsageError("submit needs --config RUNCONFIG or --target TARGET");
  const digest = await uploadDirectory(o.dir, store, io);
  const created = await kube.createRun(buildRun(o, kube.namespace, digest));
  const name = created.metadata?.name ?? "";
  io.out.write(`trainingrun.amlcompute.dev/${name} created\n`);
  if (!o.wait) return 0;
  const done = await followRun(kube, name, { ...io, follow: true });
  io.err.write(`${summaryOf(done)}\n`);
  return exitCodeOf(done);
}

export async function logs(kube: CliKube, name: string, follow: boolean, io: Io): Promise<number> {
  if (follow) {
    const done = await followRun(kube, name, { ...io, follow: true });
    io.err.write(`${summaryOf(done)}\n`);
    return 0;
  }
  const run = await kube.getRun(name);
  const pod = run.status?.links?.podName;
  if (pod && (await kube.podExists(pod))) {
    await kube.streamLog(pod, "train", io.out, false);
  } else if (run.status?.outputTail) {
    io.err.write(`(pod ${pod ?? "unknown"} is gone; showing the last lines kept in status.outputTail)\n`);
    io.out.write(run.status.outputTail.endsWith("\n") ? run.status.outputTail : `${run.status.outputTail}\n`);
  } else {
    io.err.write(`trainingrun/${name} has no output yet (phase ${run.status?.phase ?? "unknown"})\n`);
  }
  return 0;
}

export async function cancel(kube: CliKube, name: string, io: Io): Promise<number> {
  const run = await kube.getRun(name);
  if (isFinished(run)) {
    io.out.write(`trainingrun.amlcompute.dev/${name} already ${run.status?.phase}; nothing to cancel\n`);
    return 0;
  }
  await kube.cancelRun(name);
  io.out.write(`trainingrun.amlcompute.dev/${name} cancel requested\n`);
  return 0;
}

/** Rows of the `targets` table: NAME TYPE READY REASON AGE. */
export function targetRows(targets: ComputeTarget[], now = Date.now()): string[][] {
  return targets.map((t) => {
    const ready = t.status?.conditions?.find((c) => c.type === "Ready");
    return [t.metadata?.name ?? "", String(t.spec?.type ?? ""), ready?.status ?? "Unknown", ready?.reason ?? "", age(t.metadata?.creationTimestamp, now)];
  });
}

function age(created: string | Date | undefined, now: number): string {
  if (!created) return "";
  const s = Math.max(0, Math.floor((now - new Date(created).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return s < 172800 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
}

/** kubectl-style table: upper-case headers, columns padded with three spaces. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join("").trimEnd();
  return [header, ...rows].map(line).join("\n") + "\n";
}

export async function targets(kube: CliKube, io: Io): Promise<number> {
  const items = await kube.listTargets();
  if (items.length === 0) {
    io.err.write(`No ComputeTargets found in ${kube.namespace} namespace.\n`);
    return 0;
  }
  items.sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  io.out.write(formatTable(["NAME", "TYPE", "READY", "REASON", "AGE"], targetRows(items)));
  return 0;
}

export class UsageError extends Error {}
