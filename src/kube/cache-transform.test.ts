import { describe, expect, it } from "vitest";
import { cacheTransformFor } from "./cache-transform.js";

describe("cache transforms", () => {
  it("drops managedFields and kubectl's last-applied copy from every kind, keeping other annotations", () => {
    const obj = {
      metadata: {
        name: "r", managedFields: [{ manager: "kubectl" }],
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", keep: "me" },
      },
      spec: { script: "train.py" },
    };
    const out = cacheTransformFor("amlcompute.dev", "TrainingRun")(structuredClone(obj));
    expect(out).toEqual({ metadata: { name: "r", annotations: { keep: "me" } }, spec: { script: "train.py" } });
  });

  it("keeps only the scheduling facts of a Pod spec and all of its status", () => {
    const pod = { metadata: { name: "p" }, spec: { nodeName: "n1", containers: [{ name: "train" }], volumes: [] }, status: { phase: "Running" } };
    expect(cacheTransformFor("", "Pod")(pod)).toEqual({ metadata: { name: "p" }, spec: { nodeName: "n1" }, status: { phase: "Running" } });
  });

  it("keeps a Job's completion shape, not its pod template", () => {
    const job = { metadata: { name: "j" }, spec: { completions: 2, completionMode: "Indexed", template: { spec: {} } }, status: { active: 1 } };
    expect(cacheTransformFor("batch", "Job")(job)).toEqual({ metadata: { name: "j" }, spec: { completions: 2, completionMode: "Indexed" }, status: { active: 1 } });
  });
});
