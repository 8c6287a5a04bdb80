import { createHash, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ComputeTarget, TrainingRun } from "../../api/v1alpha1/index.js";
import { computeNameProblem } from "../shared/azure/compute-names.js";
import { amlComputeName, runBasedComputeName } from "./names.js";

const run = (uid: string): TrainingRun => ({ apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun", metadata: { name: "r", namespace: "ns", uid }, spec: {} } as unknown as TrainingRun);
const target = (name: string): ComputeTarget => ({ apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name, namespace: "ns", uid: "u" }, spec: { type: "AmlCompute" } } as unknown as ComputeTarget);

describe("AmlCompute names", () => {
  it("a run-based compute name is valid for every run UID, including one whose hash starts with 16 digits", () => {
    let digitsOnly = "";
    for (let i = 0; !digitsOnly; i++) {
      const uid = `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`;
      if (/^[0-9]{16}/.test(createHash("sha256").update(uid).digest("hex"))) digitsOnly = uid;
    }
    for (const uid of [digitsOnly, ...Array.from({ length: 500 }, () => randomUUID())]) {
      const name = runBasedComputeName(run(uid));
      expect(computeNameProblem(name, "cluster"), `${uid} → ${name}`).toBeUndefined();
      expect(runBasedComputeName(run(uid))).toBe(name);
    }
  });

  it("the default compute name is the target's name when Azure ML accepts it, else a valid derived one", () => {
    expect(amlComputeName(target("gpu-cluster"), {})).toBe("gpu-cluster");
    expect(amlComputeName(target("gpu-cluster"), { computeName: "other" })).toBe("other");
    for (const name of ["ab", "gpu-1", "team-a.training-cluster-for-experiments"]) {
      expect(computeNameProblem(amlComputeName(target(name), {}), "cluster"), name).toBeUndefined();
    }
  });
});
