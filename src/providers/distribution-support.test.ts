// The README's "framework × target" table, checked against every provider's validate(): what a
// RunConfiguration with several nodes or processes gets on each target type.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aComputeTarget } from "../../test/fixtures/builders.js";
import type { ComputeTargetType, RunConfigurationSpec } from "../api/v1alpha1/index.js";
import { operatorProviders } from "./registry.js";

const registry = operatorProviders();
const TYPES: ComputeTargetType[] = ["Local", "AmlCompute", "RemoteVM", "HDInsight", "AzureBatch", "Databricks"];
// Loading a provider imports its SDKs (the Azure ones take seconds): once, before the table.
beforeAll(async () => {
  await Promise.all(TYPES.map((t) => registry.entry(t)));
}, 120_000);
afterAll(() => registry.close());

type Framework = RunConfigurationSpec["framework"];
const ok = "runs";
const no = "UnsupportedOnTarget";

async function verdict(type: ComputeTargetType, framework: Framework, nodeCount: number, processCountPerNode: number): Promise<string> {
  const entry = await registry.entry(type);
  const target = aComputeTarget((t) => ({ ...t, spec: { ...t.spec, type } }));
  const problem = entry?.validate({ computeTargetRef: { name: "t" }, framework, nodeCount, processCountPerNode }, target);
  return problem?.reason ?? ok;
}

describe("distributed configurations per target type", () => {
  // [framework, nodes, processes per node, Local, AmlCompute, RemoteVM, HDInsight, AzureBatch, Databricks]
  const table: [Framework, number, number, string, string, string, string, string, string][] = [
    ["PyTorch", 2, 2, ok, ok, no, no, ok, no],
    ["PyTorch", 2, 1, ok, ok, no, no, ok, ok],
    ["TensorFlow", 3, 1, ok, ok, no, no, ok, ok],
    ["MPI", 2, 4, no, ok, no, no, ok, no],
    ["MPI", 1, 1, ok, ok, ok, ok, ok, no],
    ["Python", 2, 1, ok, ok, no, no, ok, ok],
    ["Python", 1, 2, ok, no, no, no, ok, no],
    ["PySpark", 2, 1, no, no, no, no, no, ok],
  ];
  it.each(table)("%s on %i node(s) × %i process(es)", async (framework, nodes, ppn, ...expected) => {
    const got = await Promise.all(TYPES.map((t) => verdict(t, framework, nodes, ppn)));
    expect(Object.fromEntries(TYPES.map((t, i) => [t, got[i]]))).toEqual(Object.fromEntries(TYPES.map((t, i) => [t, expected[i]])));
  });
});
