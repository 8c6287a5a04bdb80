import { describe, expect, it } from "vitest";
import type { RunConfigurationSpec } from "../../api/v1alpha1/index.js";
import { distribution } from "./executor.js";

const config = (c: Partial<RunConfigurationSpec>): RunConfigurationSpec =>
  ({ computeTargetRef: { name: "aml" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...c });

describe("Azure ML distribution block", () => {
  it("maps each framework to the distribution Azure ML launches it with", () => {
    expect(distribution(config({ framework: "PyTorch", nodeCount: 2, processCountPerNode: 4 }))).toEqual({ distributionType: "PyTorch", processCountPerInstance: 4 });
    expect(distribution(config({ framework: "MPI", nodeCount: 3, processCountPerNode: 2 }))).toEqual({ distributionType: "Mpi", processCountPerInstance: 2 });
    expect(distribution(config({ framework: "TensorFlow", nodeCount: 2, processCountPerNode: 2 }))).toEqual({ distributionType: "TensorFlow", workerCount: 4 });
    expect(distribution(config({ framework: "TensorFlow", nodeCount: 2, parameterServerCount: 1 }))).toEqual({ distributionType: "TensorFlow", workerCount: 2, parameterServerCount: 1 });
    expect(distribution(config({ framework: "Python", nodeCount: 2 }))).toBeUndefined();
  });
});
