// (b) pod exit → final status and (c) API requests per run lifecycle: N short real runs (the
// script prints and exits 0) on the normal Local target, then their deletion.
import { Kinds } from "../../src/api/v1alpha1/index.js";
import type { BenchCluster } from "../cluster.js";
import { closeNamespace, prepareNamespace, trainingRuns, type BenchNamespace } from "../namespaces.js";
import { deltaOf, rssMiB, totalOf, waitIdle } from "../operator.js";
import { summarize, type Summary } from "../stats.js";

export interface RequestsPerRun {
  byMethod: Record<string, number>;
  total: number;
}

export interface RealRunsResult {
  n: number;
  applyToJobMs: Summary | null;
  /** the bench's Pod watch sees container "train" terminated → its TrainingRun watch sees Completed/Failed. */
  podExitToFinalMs: Summary | null;
  phases: Record<string, number>;
  /** Operator requests from create to final status (idle before and after), divided by N. */
  requestsPerRun: RequestsPerRun;
  /** Operator requests caused by deleting the finished runs (finalizer, Job cleanup), divided by N. */
  deletionRequestsPerRun: RequestsPerRun;
}

const SCRIPT = "print('bench run: hello')\nprint('bench run: done')\n";

function perRun(delta: Record<string, number>, n: number): RequestsPerRun {
  const byMethod = Object.fromEntries(Object.entries(delta).filter(([, v]) => v > 0).map(([m, v]) => [m, v / n]));
  return { byMethod, total: totalOf(delta) / n };
}

/** The step's operator, idle, before its runs: RSS and its spawn → /readyz time. */
export interface IdleOperator { idleRssMiB: number; readyMs: number }

export async function measureRealRuns(bench: BenchCluster, n: number): Promise<{ result: RealRunsResult; idle: IdleOperator }> {
  const bn = await prepareNamespace(`bench-real-${n}`);
  try {
    return await measureIn(bench, bn, n);
  } finally {
    await closeNamespace(bn);
  }
}

async function measureIn(bench: BenchCluster, bn: BenchNamespace, n: number): Promise<{ result: RealRunsResult; idle: IdleOperator }> {
  const { namespace, op } = bn;
  const baseline = await waitIdle(op);
  const idle = { idleRssMiB: rssMiB(op), readyMs: Math.round(bn.readyMs) };
  const created = await bench.createAll(trainingRuns(namespace, n, SCRIPT));
  await bench.until(`${n} runs final`, 240_000, () => created.every((c) => bench.seen.final.has(c.uid)));
  const finished = await waitIdle(op);

  const runs = bench.kube.list<{ metadata: { name?: string; uid?: string }; status?: { phase?: string } }>(Kinds.TrainingRun, { namespace });
  const phases: Record<string, number> = {};
  for (const r of runs) phases[r.status?.phase ?? "?"] = (phases[r.status?.phase ?? "?"] ?? 0) + 1;

  const uids = created.map((c) => c.uid);
  const exited = uids.filter((u) => bench.seen.trainExited.has(u));
  const result = {
    n,
    applyToJobMs: summarize(created.filter((c) => bench.seen.jobSeen.has(c.uid)).map((c) => (bench.seen.jobSeen.get(c.uid) as number) - c.createdAt)),
    podExitToFinalMs: summarize(exited.map((u) => (bench.seen.final.get(u) as number) - (bench.seen.trainExited.get(u) as number))),
    phases,
    requestsPerRun: perRun(deltaOf(finished, baseline), n),
  };

  for (const r of runs) await bench.kube.delete(Kinds.TrainingRun, { namespace, name: r.metadata.name ?? "" });
  await bench.until(`${n} runs deleted`, 120_000, () => bench.kube.list(Kinds.TrainingRun, { namespace }).length === 0);
  const deleted = await waitIdle(op);
  return { result: { ...result, deletionRequestsPerRun: perRun(deltaOf(deleted, finished), n) }, idle };
}
