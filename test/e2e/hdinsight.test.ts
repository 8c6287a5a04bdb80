// HDInsight end to end: the operator attaches a head node stand-in (a real sshd on 127.0.0.1 with a
// real Spark: pyspark from PyPI + the Debian JRE) and runs spark-submit there through the run data
// plane: the driver's working directory is the snapshot from the cluster's Azurite, and what the
// driver leaves in ./outputs comes back with the run.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNamespace, kubectl, requireCluster, waitFor } from "../cluster/kubectl.js";
import { dataPlaneEnv } from "../../src/data-plane/config.js";
import { DataPlane } from "../../src/data-plane/data-plane.js";
import type { BlobStore } from "../../src/data-plane/store.js";
import { ensureSpark, SPARK_SUBMIT } from "../integration/hdinsight/spark-fixture.js";
import { startTestSshd, type TestSshd } from "../support/sshd.js";
import { API_VERSION, apply, condition, getTarget } from "./support/aml.js";
import { endTest, installCrds, type RunningOperator, startOperator } from "./support/operator.js";
import { clusterServicesEnv, storeOnLoopback } from "./support/services.js";
import { expectCanceledRunKeepsOutputs, expectTreeRunKept } from "./support/tree-runs.js";

describe("TrainingRun on an HDInsight target (real sshd + Spark)", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  let head: TestSshd | undefined;
  let store: BlobStore;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ensureSpark();
    head = await startTestSshd({ user: "amle2ehdi" });
    ns = await createNamespace("e2e-hdi");
    op = await startOperator({ WATCH_NAMESPACE: ns, HDINSIGHT_SPARK_SUBMIT: SPARK_SUBMIT, HDINSIGHT_SPARK_MASTER: "local[2]", ...storeOnLoopback() });
    store = await new DataPlane(dataPlaneEnv(clusterServicesEnv())).storeFor(ns, async () => undefined);
    await kubectl(["-n", ns, "create", "secret", "generic", "head-key", `--from-literal=privateKey=${head.privateKey}`]);
    await apply(
      {
        apiVersion: API_VERSION, kind: "ComputeTarget", metadata: { name: "hdi", namespace: ns },
        spec: { type: "HDInsight", hdInsight: { address: head.host, port: head.port, username: head.user, credentialsSecretRef: { name: "head-key" }, hostKey: { fingerprint: head.fingerprint } } },
      },
      { apiVersion: API_VERSION, kind: "RunConfiguration", metadata: { name: "spark", namespace: ns }, spec: { computeTargetRef: { name: "hdi" }, framework: "PySpark" } },
    );
  }, 900_000);

  // The CRDs are cluster-wide and shared with every worktree's tests: apply ours before each test.
  beforeEach(installCrds);

  afterAll(async () => {
    await endTest(op, ns);
    await head?.stop();
  });

  it("attaches the head node with a working spark-submit", async () => {
    const target = await waitFor("hdi Ready", 90_000, async () => {
      const t = await getTarget(ns, "hdi");
      return condition(t, "Ready") ? t : undefined;
    });
    expect(condition(target, "Ready"), condition(target, "Ready")?.message).toMatchObject({ status: "True", reason: "Attached" });
  });

  it("runs a submitted directory exactly as written as the driver's working directory and downloads its outputs byte-exact", async () => {
    await expectTreeRunKept(ns, "spark", 240_000);
  }, 300_000);

  it("keeps the outputs of a run canceled while running", async () => {
    await expectCanceledRunKeepsOutputs(ns, "spark", store, 180_000);
  }, 300_000);
});
