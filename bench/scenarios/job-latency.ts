// (a) apply → Job created: N TrainingRuns created at once against a target whose pods can never be
// scheduled, so only the operator's path to the Job is measured and the kubelet is not swamped.
import type { BenchCluster } from "../cluster.js";
import { closeNamespace, NO_NODE, prepareNamespace, trainingRuns } from "../namespaces.js";
import { summarize, type Summary } from "../stats.js";

export interface JobLatencyResult {
  n: number;
  namespace: string;
  /** apply (bench's create call returned) → the bench's Job watch first sees the run's Job. */
  applyToJobMs: Summary | null;
  /** first create sent → last Job seen. */
  wallMs: number;
}

export async function measureApplyToJob(bench: BenchCluster, n: number, timeoutMs: number): Promise<JobLatencyResult> {
  const bn = await prepareNamespace(`bench-pending-${n}`, { nodeSelector: NO_NODE });
  const { namespace } = bn;
  try {
    const started = performance.now();
    const created = await bench.createAll(trainingRuns(namespace, n, "print('never scheduled')\n"));
    await bench.until(`${n} Jobs`, timeoutMs, () => created.every((c) => bench.seen.jobSeen.has(c.uid)));
    const jobSeen = created.map((c) => bench.seen.jobSeen.get(c.uid) as number);
    return {
      n, namespace,
      applyToJobMs: summarize(created.map((c, i) => (jobSeen[i] as number) - c.createdAt)),
      wallMs: Math.round(Math.max(...jobSeen) - started),
    };
  } finally {
    await closeNamespace(bn);
  }
}
