// The local cluster's store (Azurite) as the operator sees it, for reading what a run left there.
import type { TrainingRun } from "../../../src/api/v1alpha1/index.js";
import { dataPlaneEnv } from "../../../src/data-plane/config.js";
import { DataPlane } from "../../../src/data-plane/data-plane.js";
import { attemptPrefix } from "../../../src/data-plane/layout.js";
import { clusterServicesEnv } from "./services.js";

/** A blob under the run's attempt prefix (e.g. "metrics.jsonl"), or undefined when absent. */
export async function readAttemptBlob(run: TrainingRun, attempt: number, name: string): Promise<Buffer | undefined> {
  const ns = run.metadata.namespace ?? "";
  const store = await new DataPlane(dataPlaneEnv(clusterServicesEnv())).storeFor(ns, async () => undefined);
  return store.readRunBlob(`${attemptPrefix({ namespace: ns, name: run.metadata.name ?? "", uid: run.metadata.uid ?? "" }, attempt)}${name}`);
}

export interface MetricRecord { name: string; value: number; step: number; timestamp: number; source: "output" | "mlflow" }

/** metrics.jsonl of the attempt, parsed. */
export async function metricHistory(run: TrainingRun, attempt = 1): Promise<MetricRecord[]> {
  const blob = await readAttemptBlob(run, attempt, "metrics.jsonl");
  return (blob?.toString("utf8") ?? "").split("\n").filter(Boolean).map((l) => JSON.parse(l) as MetricRecord);
}
