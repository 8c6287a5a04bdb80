// What the tests and the bench read from a running operator's /metrics: API requests by HTTP method
// (client-go's rest_client_requests_total, which Kubeflow's operator exports too) and, for ours, by
// Kubernetes verb and kind (aml_apiserver_requests_total).
import { metricsText, type RunningOperator } from "./operator.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** rest_client_requests_total summed over codes, by HTTP method (client-go's series: ours and Kubeflow's). */
export async function requestsByMethod(op: RunningOperator): Promise<Record<string, number>> {
  return sumSeries(await metricsText(op), "rest_client_requests_total", (labels) => /method="([A-Z]+)"/.exec(labels)?.[1] ?? "?");
}

/** aml_apiserver_requests_total by "verb kind" (our operator only). */
export async function requestsByVerbAndKind(op: RunningOperator): Promise<Record<string, number>> {
  return sumSeries(await metricsText(op), "aml_apiserver_requests_total", (labels) =>
    `${/verb="([a-z]+)"/.exec(labels)?.[1] ?? "?"} ${/kind="([A-Za-z]+)"/.exec(labels)?.[1] ?? "?"}`);
}

/** Sums the samples of one Prometheus counter, grouped by a key taken from each sample's labels. */
export function sumSeries(text: string, name: string, keyOf: (labels: string) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const key = keyOf(line.slice(name.length, line.lastIndexOf("}") + 1));
    out[key] = (out[key] ?? 0) + Number(line.split(" ").pop());
  }
  return out;
}

export const totalOf = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** after − before, per method (methods absent from both are omitted). */
export function deltaOf(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).sort().map((m) => [m, (after[m] ?? 0) - (before[m] ?? 0)]));
}

/**
 * Waits until the operator has sent no API request for `quietMs` (its queues are drained; idle
 * watches send nothing). Returns the counts at that point. Gives up after `timeoutMs`.
 */
export async function waitIdle(op: RunningOperator, quietMs = 3_000, timeoutMs = 180_000): Promise<Record<string, number>> {
  const deadline = performance.now() + timeoutMs;
  let last = await requestsByMethod(op);
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(250);
    const now = await requestsByMethod(op);
    if (totalOf(now) !== totalOf(last)) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return now;
  }
  throw new Error(`operator not idle after ${timeoutMs} ms: is something else (e2e tests?) running TrainingRuns on this cluster?`);
}
