// mlflow.log_metric end to end on the Local target, against the cluster's real MLflow tracking
// server (`make cluster-up` starts it): the operator creates the MLflow run, hands its id to the
// script and reads the metrics back into status.metrics through MLflow's REST API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, requireCluster } from "../cluster/kubectl.js";
import { apply, DEV_CACHE, localTarget, runConfiguration, scriptRun, waitForPhase } from "./support/aml.js";
import { endTest, installCrds, type RunningOperator, startOperator } from "./support/operator.js";
import { mlflowEnv } from "./support/services.js";
import { metricHistory } from "./support/store.js";

const MLFLOW_SCRIPT = `import mlflow
for step in range(5):
    mlflow.log_metric("mse", 1.0 / (step + 1), step=step)
mlflow.log_metric("r2", 0.9)
print("logged to", mlflow.get_tracking_uri(), mlflow.active_run().info.run_id)
`;

describe("MLflow metrics on a Local target", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  const mlflow = mlflowEnv();

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("e2e-metrics");
    op = await startOperator({ WATCH_NAMESPACE: ns, ...mlflow });
    await apply(
      localTarget(ns, "local", DEV_CACHE),
      runConfiguration(ns, "with-mlflow", { environment: { systemManaged: { pipPackages: ["mlflow-skinny==3.17.2"] } } }),
    );
  });

  afterAll(async () => {
    await endTest(op, ns);
  });

  it("gives the script an MLflow run, so mlflow.log_metric works unchanged, and reads it back", async () => {
    await apply(scriptRun(ns, "mlflow", { "main.py": MLFLOW_SCRIPT }, { runConfigurationRef: { name: "with-mlflow" }, primaryMetric: "mse", experimentName: `e2e-${ns}` }));
    const run = await waitForPhase(ns, "mlflow", ["Completed", "Failed"], 300_000);
    expect(run.status?.phase, run.status?.outputTail).toBe("Completed");
    const m = run.status?.metrics;
    expect(m?.mlflow?.trackingUri).toBe(mlflow.MLFLOW_TARGET_TRACKING_URI);
    expect(run.status?.outputTail).toContain(`logged to ${mlflow.MLFLOW_TARGET_TRACKING_URI} ${m?.mlflow?.runId}`);
    expect(m?.sources).toEqual(["MLflow"]);
    expect(m?.primary).toBe("mse=0.2");
    expect(m?.latest[0]).toMatchObject({ name: "mse", value: 0.2, step: 4, count: 5 });
    expect(m?.latest[0]?.mean).toBeCloseTo((1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5) / 5, 9);
    expect(m?.latest[1]).toMatchObject({ name: "r2", value: 0.9 });
    // The tracking server itself holds the run, tagged with the TrainingRun's UID.
    const res = await fetch(`${mlflow.MLFLOW_TRACKING_URI}/api/2.0/mlflow/runs/get?run_id=${m?.mlflow?.runId}`);
    const body = await res.json() as { run: { info: { experiment_id: string }; data: { tags: { key: string; value: string }[] } } };
    expect(body.run.info.experiment_id).toBe(m?.mlflow?.experimentId);
    expect(body.run.data.tags).toContainEqual({ key: "amlcompute.run_uid", value: run.metadata.uid });
    // The runner kept the MLflow run's full histories with the run's outputs.
    const history = await metricHistory(run);
    expect(history.filter((h) => h.name === "mse").map((h) => [h.step, h.value, h.source]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([0, 1, 2, 3, 4].map((i) => [i, 1 / (i + 1), "mlflow"]));
    expect(history.filter((h) => h.name === "r2")).toEqual([expect.objectContaining({ value: 0.9, source: "mlflow" })]);
  });
});
