import { describe, expect, it } from "vitest";
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../api/v1alpha1/index.js";
import type { Attempt } from "../types.js";
import { computeNameProblem } from "../shared/azure/compute-names.js";
import { attachedComputeName, hdInsightComputeBody } from "./registration.js";
import { asRemoteVmSubmission, asRemoteVmTarget, sparkSubmitArgv, validateHdInsight } from "./remote-vm-view.js";

const target = {
  apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name: "hdi", namespace: "ns" },
  spec: {
    type: "HDInsight", deletionPolicy: "Delete",
    hdInsight: { address: "hn0.example", port: 22, username: "sshuser", credentialsSecretRef: { name: "c" }, hostKey: { fingerprint: "SHA256:x" }, workDir: ".amlcompute" },
  },
} as ComputeTarget;

function sub(config: Partial<RunConfigurationSpec> = {}, argv = ["count.py", "--top", "3"], interpreterNeeded = true): Attempt {
  return {
    run: { metadata: { name: "wc", namespace: "ns", uid: "u" } } as TrainingRun,
    target, number: 1, handle: undefined, runId: "r", environmentHash: "h", argv, interpreterNeeded,
    config: { computeTargetRef: { name: "hdi" }, framework: "PySpark", nodeCount: 1, processCountPerNode: 1, ...config } as RunConfigurationSpec,
    snapshot: { digest: "sha256:x", files: [], totalBytes: 0 },
  };
}

describe("HDInsight as a RemoteVM view", () => {
  it("runs the script through spark-submit in client mode, with the configured master", () => {
    expect(sparkSubmitArgv(sub(), { sparkMaster: "local[*]" })).toEqual(["spark-submit", "--master", "local[*]", "--deploy-mode", "client", "--name", "ns/wc attempt 1", "count.py", "--top", "3"]);
    expect(sparkSubmitArgv(sub(), { sparkSubmit: "/usr/bin/spark-submit" })).toEqual(["/usr/bin/spark-submit", "--deploy-mode", "client", "--name", "ns/wc attempt 1", "count.py", "--top", "3"]);
  });

  it("maps the head node's SSH settings onto a RemoteVM target", () => {
    expect(asRemoteVmTarget(target).spec).toMatchObject({ type: "RemoteVM", remoteVM: { address: "hn0.example", username: "sshuser", workDir: ".amlcompute" } });
  });

  it("passes a userManaged interpreter as PYSPARK_PYTHON and runs spark-submit as a command", () => {
    const s = asRemoteVmSubmission(sub({ environment: { userManaged: { interpreterPath: "/usr/bin/anaconda/bin/python" } } as never }), {});
    expect(s.interpreterNeeded).toBe(false);
    expect(s.argv[0]).toBe("spark-submit");
    expect(s.config.environmentVariables).toMatchObject({ PYSPARK_PYTHON: "/usr/bin/anaconda/bin/python" });
  });

  it.each([
    ["a system-managed environment", { environment: { systemManaged: { pipPackages: ["x"] } } }],
    ["Docker mode", { docker: { enabled: true } }],
    ["several nodes", { nodeCount: 2 }],
    ["several processes per node", { processCountPerNode: 2 }],
  ])("refuses %s at validation, before any run is submitted", (_what, config) => {
    expect(validateHdInsight(sub(config as never).config, target)).toMatchObject({ reason: "UnsupportedOnTarget" });
  });

  it("refuses a command at submit", () => {
    expect(() => asRemoteVmSubmission(sub({}, ["echo", "hi"], false), {})).toThrow(expect.objectContaining({ reason: "InvalidSpec" }));
  });
});

describe("HDInsight workspace registration", () => {
  it("keeps a valid ComputeTarget name and derives a stable valid one otherwise", () => {
    expect(attachedComputeName("spark-hdi")).toBe("spark-hdi");
    for (const n of ["spark.hdi", "a-very-long-computetarget-name-for-spark", "9lives", "x"]) {
      expect(computeNameProblem(attachedComputeName(n), "attached"), n).toBeUndefined();
      expect(attachedComputeName(n)).toBe(attachedComputeName(n));
    }
  });

  it("PUTs an attached HDInsight compute with the cluster's id, address and SSH port, never credentials", () => {
    const spec = { ...target.spec.hdInsight!, resourceId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HDInsight/clusters/c" };
    const body = hdInsightComputeBody(target, spec);
    expect(body.properties).toMatchObject({ computeType: "HDInsight", resourceId: spec.resourceId, properties: { address: "hn0.example", sshPort: 22 } });
    expect(JSON.stringify(body)).not.toMatch(/administratorAccount|password|privateKey/);
  });
});
