import { beforeAll, describe, expect, it } from "vitest";
import { aComputeTarget } from "../../test/fixtures/builders.js";
import type { ComputeTargetType, RunConfigurationSpec } from "../api/v1alpha1/index.js";
import { lazyRegistry, operatorProviders } from "./registry.js";
import type { ProviderEntry } from "./types.js";

const config = (extra: Partial<RunConfigurationSpec> = {}): RunConfigurationSpec =>
  ({ computeTargetRef: { name: "t" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...extra });
const targetOf = (type: ComputeTargetType) => aComputeTarget((t) => ({ ...t, spec: { ...t.spec, type } }));

describe("lazyRegistry", () => {
  const entry: ProviderEntry = { compute: { ensure: async () => ({ ready: { status: "True", reason: "Ready", message: "" } }), release: async () => ({ done: true }) }, validate: () => undefined };

  it("loads a provider once, on the first request for its type, and shares concurrent loads", async () => {
    let loads = 0;
    const registry = lazyRegistry({ Local: async () => { loads++; return entry; } });
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([registry.entry("Local"), registry.entry("Local")]);
    expect(a).toBe(entry);
    expect(b).toBe(entry);
    await registry.entry("Local");
    expect(loads).toBe(1);
  });

  it("answers undefined for a type without a provider and retries a load that failed", async () => {
    let calls = 0;
    const registry = lazyRegistry({ Local: async () => { if (++calls === 1) throw new Error("boom"); return entry; } });
    expect(await registry.entry("AmlCompute")).toBeUndefined();
    await expect(registry.entry("Local")).rejects.toThrow("boom");
    expect(await registry.entry("Local")).toBe(entry);
  });

  it("closes only the entries it loaded", async () => {
    const closed: string[] = [];
    const registry = lazyRegistry({
      Local: async () => ({ ...entry, close: () => closed.push("Local") }),
      RemoteVM: async () => ({ ...entry, close: () => closed.push("RemoteVM") }),
    });
    await registry.entry("RemoteVM");
    registry.close();
    expect(closed).toEqual(["RemoteVM"]);
  });
});

describe("each provider's validate", () => {
  const registry = operatorProviders();
  // Loading a provider imports its SDKs (seconds for the Azure ones on a busy machine): once, first.
  beforeAll(async () => {
    await Promise.all((["Local", "RemoteVM", "HDInsight", "AmlCompute", "AzureBatch", "Databricks"] as const).map((t) => registry.entry(t)));
  }, 120_000);
  it.each([
    ["Local", config(), undefined],
    ["Local", config({ framework: "PySpark" }), undefined],
    ["Local", config({ docker: { enabled: false, gpu: false, arguments: ["--ipc=host"] } }), "UnsupportedOnTarget"],
    ["RemoteVM", config({ framework: "PySpark" }), "UnsupportedOnTarget"],
    ["RemoteVM", config({ nodeCount: 2 }), "UnsupportedOnTarget"],
    ["RemoteVM", config({ docker: { enabled: true, gpu: false, baseImage: "x" }, environment: { systemManaged: { pipPackages: [] } } }), "UnsupportedOnTarget"],
    ["HDInsight", config({ framework: "PySpark" }), undefined],
    ["HDInsight", config({ environment: { systemManaged: { pipPackages: ["six"] } } }), "UnsupportedOnTarget"],
    ["HDInsight", config({ nodeCount: 2 }), "UnsupportedOnTarget"],
    ["AmlCompute", config({ framework: "PySpark" }), "UnsupportedOnTarget"],
    ["AzureBatch", config({ framework: "PySpark" }), "UnsupportedOnTarget"],
    ["Databricks", config({ framework: "PySpark", nodeCount: 3 }), undefined],
  ] as const)("%s refuses %j with %s", async (type, cfg, reason) => {
    const entry = await registry.entry(type);
    expect(entry?.validate(cfg as RunConfigurationSpec, targetOf(type))?.reason).toBe(reason);
  }, 60_000); // the first target of a type loads its provider's SDKs
});
