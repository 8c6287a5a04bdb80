import { describe, expect, it } from "vitest";
import type { TrainingRun } from "../api/v1alpha1/index.js";
import { parseMetricLine, parseMetricLines } from "./lines.js";
import { nextRunMetrics } from "./status.js";
import { mergeSummaries, metricsStatus, summarize } from "./summary.js";
import { azureMlApiBase, azureMlTrackingUri, trackingFor } from "./tracking.js";

const run = (primaryMetric?: string, metrics?: NonNullable<TrainingRun["status"]>["metrics"]): TrainingRun => ({
  metadata: { name: "r", namespace: "ns", uid: "u" },
  spec: { experimentName: "e", source: { inline: { files: [] } }, backoffLimit: 0, cancel: false, suspend: false, ...(primaryMetric ? { primaryMetric } : {}) },
  ...(metrics ? { status: { metrics } } : {}),
});

describe("metric lines", () => {
  it("parses the documented format, with or without step and behind a log prefix", () => {
    expect(parseMetricLine('AML_METRIC {"name": "mse", "value": 0.5, "step": 3}')).toEqual({ name: "mse", value: 0.5, step: 3 });
    expect(parseMetricLine('[rank0]: AML_METRIC {"name":"acc","value":1}')).toEqual({ name: "acc", value: 1 });
  });

  it("ignores lines that are not well-formed metric lines", () => {
    for (const line of [
      "mse=0.5", "AML_METRIC mse=0.5", 'AML_METRIC {"name":"x","value":"1"}', 'AML_METRIC {"name":"x","value":1e999}',
      'AML_METRIC {"name":"","value":1}', 'AML_METRIC {"name":"x","value":1,"step":-1}', 'AML_METRIC {"name":"x","value":1} trailing',
      'AML_METRIC [1,2]',
    ]) expect(parseMetricLine(line), line).toBeUndefined();
  });

  it("summarizes a stream: latest value, step, count and running mean per name", () => {
    const text = ['AML_METRIC {"name":"loss","value":4}', "noise", 'AML_METRIC {"name":"loss","value":2}', 'AML_METRIC {"name":"acc","value":0.5,"step":10}'].join("\n");
    expect(summarize(parseMetricLines(text))).toEqual([
      { name: "loss", value: 2, step: 1, count: 2, mean: 3 },
      { name: "acc", value: 0.5, step: 10, count: 1, mean: 0.5 },
    ]);
  });
});

describe("merging and bounding", () => {
  it("never rolls a metric back to an older step from a short output window", () => {
    const whole = [{ name: "loss", value: 1, step: 9, count: 10, mean: 3 }];
    const window = [{ name: "loss", value: 5, step: 2, count: 3, mean: 5 }];
    expect(mergeSummaries(whole, window)).toEqual(whole);
    const later = [{ name: "loss", value: 0.5, step: 12, count: 2, mean: 0.7 }];
    expect(mergeSummaries(whole, later)).toEqual([{ name: "loss", value: 0.5, step: 12, count: 10, mean: 3 }]);
  });

  it("puts the primary metric first, bounds the list and cuts long names", () => {
    const points = Array.from({ length: 40 }, (_, i) => ({ name: `m${String(i).padStart(2, "0")}${"x".repeat(i === 5 ? 100 : 0)}`, value: i }));
    const status = metricsStatus({ summaries: summarize(points), primaryMetric: "m39", sources: ["Stdout", "Stdout"] });
    expect(status?.latest).toHaveLength(32);
    expect(status?.latest[0]?.name).toBe("m39");
    expect(status?.primary).toBe("m39=39");
    expect(status?.omitted).toBe(8);
    expect(status?.sources).toEqual(["Stdout"]);
    expect(Math.max(...(status?.latest ?? []).map((m) => m.name.length))).toBe(63);
  });

  it("builds status.metrics from the output tail and keeps the MLflow run", () => {
    const mlflow = { trackingUri: "http://t", experimentId: "1", runId: "abc" };
    const next = nextRunMetrics(run("mse", { latest: [], mlflow }), undefined, 'AML_METRIC {"name":"other","value":2}\nAML_METRIC {"name":"mse","value":0.12345678,"step":4}\n');
    expect(next).toMatchObject({ primary: "mse=0.12346", sources: ["Stdout"], mlflow });
    expect(next?.latest.map((m) => m.name)).toEqual(["mse", "other"]);
    expect(nextRunMetrics(run(), undefined, "no metrics here")).toBeUndefined();
  });
});

describe("tracking adapters", () => {
  const target = (spec: Record<string, unknown>) => ({ metadata: { name: "t", namespace: "ns" }, spec }) as never;

  it("gives Local pods and RemoteVMs their own address of the same server", () => {
    const cfg = { uri: "http://127.0.0.1:5000", localUri: "http://10.244.0.1:5000" };
    expect(trackingFor(target({ type: "Local" }), cfg)).toMatchObject({ createsRun: true, scriptUri: "http://10.244.0.1:5000", apiBase: "http://127.0.0.1:5000" });
    expect(trackingFor(target({ type: "RemoteVM" }), cfg)).toMatchObject({ scriptUri: "http://127.0.0.1:5000" });
    expect(trackingFor(target({ type: "Local" }), {})).toBeUndefined();
  });

  it("uses Databricks' managed MLflow and Azure ML's workspace tracking (opt-in host)", () => {
    expect(trackingFor(target({ type: "Databricks", databricks: { workspaceUrl: "https://adb-1.2.azuredatabricks.net" } }), {}))
      .toMatchObject({ createsRun: true, scriptUri: "databricks", apiBase: "https://adb-1.2.azuredatabricks.net", auth: "databricks-token" });
    const ws = { subscriptionId: "s", resourceGroup: "rg", name: "ws" };
    const uri = azureMlTrackingUri(ws, "westeurope");
    expect(uri).toBe("azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws");
    expect(azureMlApiBase(uri, "https://{region}.api.azureml.ms", "westeurope")).toBe(`https://westeurope.api.azureml.ms${uri.slice("azureml://westeurope.api.azureml.ms".length)}`);
    const aml = target({ type: "AmlCompute", amlCompute: { workspace: ws, location: "westeurope" } });
    expect(trackingFor(aml, {})).toBeUndefined();
    expect(trackingFor(aml, { azureMlEndpoint: "https://{region}.api.azureml.ms" })).toMatchObject({ createsRun: false, auth: "azure" });
  });
});
