// Namespaces the benchmark creates: each with its own operator scoped to it (WATCH_NAMESPACE, as in
// the side-by-side comparison: nothing else on the cluster is reconciled by a bench operator), a
// Local ComputeTarget "local" and a RunConfiguration "python", both Ready before a step starts.
// All are deleted at the end of the run.
import type { TrainingRun } from "../src/api/v1alpha1/index.js";
import { createNamespace, deleteNamespace, kubectl, waitFor } from "../test/cluster/kubectl.js";
import { apply, condition, getRunConfiguration, getTarget, localTarget, runConfiguration, scriptRun } from "../test/e2e/support/aml.js";
import { launchOperator, stopOperator, type RunningOperator } from "./operator.js";

const created: string[] = [];

/** nodeSelector that matches no node: pods of this target stay Pending (the kubelet is spared). */
export const NO_NODE = { "amlcompute.dev/bench": "no-such-node" };

export interface BenchNamespace {
  namespace: string;
  /** The operator watching only this namespace, and its spawn → /readyz time. */
  op: RunningOperator;
  readyMs: number;
}

/** A fresh namespace, an operator scoped to it, and its Ready target and RunConfiguration. */
export async function prepareNamespace(prefix: string, local: Record<string, unknown> = {}): Promise<BenchNamespace> {
  const ns = await createNamespace(prefix);
  created.push(ns);
  const { op, readyMs } = await launchOperator({ WATCH_NAMESPACE: ns });
  await apply(localTarget(ns, "local", local), runConfiguration(ns, "python"));
  await waitFor(`${ns}: target Ready`, 60_000, async () => condition(await getTarget(ns, "local"), "Ready")?.status === "True");
  await waitFor(`${ns}: RunConfiguration Ready`, 60_000, async () => condition(await getRunConfiguration(ns, "python"), "Ready")?.status === "True");
  return { namespace: ns, op, readyMs };
}

/** `n` TrainingRuns run-0…run-(n-1) running `script` (a one-file inline source). */
export function trainingRuns(
  ns: string, n: number, script: string, opts: { spec?: Record<string, unknown>; offset?: number } = {},
): TrainingRun[] {
  const offset = opts.offset ?? 0;
  return Array.from({ length: n }, (_, i) => scriptRun(ns, `run-${offset + i}`, { "main.py": script }, opts.spec) as TrainingRun);
}

/**
 * Deletes a namespace's TrainingRuns first (one deletecollection; the running operator finalizes
 * them: Jobs deleted with their pods), then the namespace. Deleting only the namespace is slower:
 * the namespace controller removes pods while their Jobs still exist, and the Job controller
 * recreates them.
 */
async function deleteBenchNamespace(ns: string): Promise<void> {
  await kubectl(["delete", "--raw", `/apis/amlcompute.dev/v1alpha1/namespaces/${ns}/trainingruns`], { allowFail: true });
  await deleteNamespace(ns);
}

const gone = async (namespaces: string[]): Promise<boolean> => {
  const r = await kubectl(["get", "namespaces", "-o", "name"]);
  return namespaces.every((ns) => !r.stdout.split("\n").includes(`namespace/${ns}`));
};

/** Deletes one namespace and waits (bounded) until it is gone. */
export async function deleteNamespaceAndWait(ns: string, timeoutMs = 300_000): Promise<void> {
  await deleteBenchNamespace(ns);
  await waitFor(`namespace ${ns} deleted`, timeoutMs, () => gone([ns]));
}

/**
 * Ends a step: its runs deleted while its operator still runs (their finalizers need it), then the
 * operator stopped and the namespace deleted.
 */
export async function closeNamespace(bn: BenchNamespace, timeoutMs = 300_000): Promise<void> {
  // One deletecollection of thousands of runs outlives the API server's 30 s request timeout and
  // stops halfway; kubectl deletes them one by one, as long as it takes.
  await kubectl(["-n", bn.namespace, "delete", "trainingruns", "--all", "--wait=false", `--request-timeout=${Math.round(timeoutMs / 1000)}s`], { allowFail: true });
  await waitFor(`${bn.namespace}: TrainingRuns deleted`, timeoutMs, async () =>
    (await kubectl(["-n", bn.namespace, "get", "trainingruns", "-o", "name"], { allowFail: true })).stdout.trim() === "");
  await stopOperator(bn.op);
  await deleteNamespaceAndWait(bn.namespace, timeoutMs);
}

/** Deletes every namespace this run created and waits (bounded) until they are gone. */
export async function deleteAllNamespaces(timeoutMs = 420_000): Promise<void> {
  await Promise.all(created.map((ns) => deleteBenchNamespace(ns)));
  await waitFor("bench namespaces deleted", timeoutMs, () => gone(created));
}
