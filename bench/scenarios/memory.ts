// (d) operator RSS with 1k and 10k TrainingRuns in its cache, and startup time to /readyz with 10k
// objects present. The runs are suspended (spec.suspend) so no Jobs or pods are made.
import type { BenchCluster } from "../cluster.js";
import { closeNamespace, NO_NODE, type BenchNamespace, prepareNamespace, trainingRuns } from "../namespaces.js";
import { launchOperator, rssMiB, stopOperator, totalOf, waitIdle } from "../operator.js";

/**
 * Creates in flight while filling the cache. At 50 the 2-core machine's API server fell behind its
 * watchers after ~2,400 creates and closed them as unresponsive (the operator's and the bench's),
 * and the creates stalled; this step measures memory, not the create rate.
 */
const CREATES_IN_FLIGHT = 8;

export interface MemoryResult {
  rssMiB: { with1k: number; with10k: number; after10kRestart: number };
  /** Creates per second achieved by the bench (50 in flight) while the operator processed them. */
  createRatePerSec: number;
  /** Operator requests while it absorbed the 10k creates (one status write each is expected). */
  operatorRequestsFor10k: number;
  restart10k: { readyMs: number; idleMs: number; requests: number };
}

export async function measureMemory(bench: BenchCluster): Promise<MemoryResult> {
  const bn = await prepareNamespace("bench-memory", { nodeSelector: NO_NODE });
  try {
    return await measureIn(bench, bn);
  } finally {
    await closeNamespace(bn, 600_000);
  }
}

async function measureIn(bench: BenchCluster, bn: BenchNamespace): Promise<MemoryResult> {
  const { namespace } = bn;
  const script = "print('suspended')\n";
  let op = bn.op;
  const before = totalOf(await waitIdle(op));

  const t0 = performance.now();
  await bench.createAll(trainingRuns(namespace, 1_000, script, { spec: { suspend: true } }), CREATES_IN_FLIGHT);
  await waitIdle(op);
  const rss1k = rssMiB(op);
  await bench.createAll(trainingRuns(namespace, 9_000, script, { spec: { suspend: true }, offset: 1_000 }), CREATES_IN_FLIGHT);
  const createRatePerSec = Math.round(10_000 / ((performance.now() - t0) / 1000));
  const idle10k = totalOf(await waitIdle(op, 3_000, 600_000));
  const rss10k = rssMiB(op);

  await stopOperator(op);
  const restarted = performance.now();
  const launched = await launchOperator({ WATCH_NAMESPACE: namespace });
  op = launched.op;
  // closeNamespace stops the operator it is given: the restarted one.
  bn.op = op;
  const idleCounts = await waitIdle(op, 3_000, 300_000);
  // waitIdle returns after 3 s of quiet; the operator went idle 3 s before that.
  const idleMs = performance.now() - restarted - 3_000;
  return {
    rssMiB: { with1k: rss1k, with10k: rss10k, after10kRestart: rssMiB(op) },
    createRatePerSec,
    operatorRequestsFor10k: idle10k - before,
    restart10k: { readyMs: Math.round(launched.readyMs), idleMs: Math.round(idleMs), requests: totalOf(idleCounts) },
  };
}
