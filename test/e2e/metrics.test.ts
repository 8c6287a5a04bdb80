// Metric lines (AML_METRIC {...}) in a run's output, end to end on the Local target: the operator
// reads the whole pod log off the hot path and keeps the latest value of each metric in status.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, kubectl, requireCluster } from "../cluster/kubectl.js";
import { apply, localTarget, runConfiguration, scriptRun, waitForPhase } from "./support/aml.js";
import { endTest, installCrds, type RunningOperator, startOperator } from "./support/operator.js";
import { metricHistory } from "./support/store.js";

const METRIC_LINES = `import json
for step in range(60):
    print("AML_METRIC", json.dumps({"name": "loss", "value": 1.0 / (step + 1), "step": step}))
    print("AML_METRIC", json.dumps({"name": "acc", "value": step / 60}))
print("done")
`;

describe("metric lines of a Local run", () => {
  let ns = "";
  let op: RunningOperator | undefined;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("e2e-metrics");
    op = await startOperator({ WATCH_NAMESPACE: ns });
    await apply(localTarget(ns), runConfiguration(ns, "python"));
  });

  afterAll(async () => {
    await endTest(op, ns);
  });

  it("reads every metric line of the output (not only the tail) into status.metrics and the Metric column", async () => {
    await apply(scriptRun(ns, "lines", { "main.py": METRIC_LINES }, { primaryMetric: "loss" }));
    const run = await waitForPhase(ns, "lines", ["Completed", "Failed"]);
    expect(run.status?.phase).toBe("Completed");
    const metrics = run.status?.metrics;
    expect(metrics?.primary).toBe(`loss=${Number((1 / 60).toPrecision(5))}`);
    expect(metrics?.latest.map((m) => m.name)).toEqual(["loss", "acc"]);
    // 120 metric lines are far more than the 40-line output tail: the count proves the whole log was read.
    expect(metrics?.latest[0]).toMatchObject({ name: "loss", step: 59, count: 60 });
    expect(metrics?.latest[1]).toMatchObject({ name: "acc", step: 59, count: 60 });
    expect(metrics?.sources).toEqual(["Stdout"]);
    const table = await kubectl(["-n", ns, "get", "trainingrun", "lines"]);
    expect(table.stdout).toMatch(/METRIC/);
    expect(table.stdout).toContain("loss=0.016667");
    // The whole history is kept with the run's outputs: every report, in order, with its step.
    const history = await metricHistory(run);
    expect(history).toHaveLength(120);
    expect(history.filter((m) => m.name === "loss").map((m) => m.step)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(history.filter((m) => m.name === "acc").map((m) => m.step)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(history.find((m) => m.name === "loss" && m.step === 59)).toMatchObject({ value: 1 / 60, source: "output" });
  });

});
