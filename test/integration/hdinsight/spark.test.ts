import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import { createHdInsightProvider } from "../../../src/providers/hdinsight/index.js";
import type { ProviderContext, RunObservation } from "../../../src/providers/types.js";
import { startTestSshd, type TestSshd } from "../../support/sshd.js";
import type { Azurite } from "../../azure-emulator/azurite.js";
import { DataPlane, runIdentity } from "../../../src/data-plane/data-plane.js";
import { dataPlaneEnv } from "../../../src/data-plane/config.js";
import { attemptPrefix } from "../../../src/data-plane/layout.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { expectTreeKept, treeRoundTrip } from "../../support/executor-harness.js";
import { storeOnAzurite } from "../data-plane/support.js";
import { aStoredSubmission, aSubmission, credentialsFor, fakeContext, observeUntilDone, type SubmissionInput } from "../ssh/fixtures.js";
import { ensureSpark, SPARK_SUBMIT } from "./spark-fixture.js";

// HDInsight against a real head node stand-in: OpenSSH on 127.0.0.1 and a real Spark (pyspark
// from PyPI + the Debian JRE), spark-submit --master local[*] running real PySpark scripts, the
// run store on Azurite (the data-plane runner on the head node wraps spark-submit).

const WORD_COUNT = `import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
from helper import words
counts = dict(spark.sparkContext.parallelize(words()).map(lambda w: (w, 1)).reduceByKey(lambda a, b: a + b).collect())
print("counts", sorted(counts.items()), "args", sys.argv[1:], flush=True)
spark.stop()
`;

describe("HDInsight: spark-submit on the head node over SSH", () => {
  let sshd: TestSshd;
  let ctx: ProviderContext;
  let az: Azurite;
  let store: BlobStore;
  const entry = createHdInsightProvider({ sparkSubmit: SPARK_SUBMIT, sparkMaster: "local[2]" });
  const submission = (input: SubmissionInput) => aStoredSubmission(store, input);

  function target(mod: (s: NonNullable<ComputeTarget["spec"]["hdInsight"]>) => void = () => undefined): ComputeTarget {
    const t = {
      apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget",
      metadata: { name: "hdi", namespace: "ns", uid: "7b0c8f5e-0000-4000-8000-000000000001" },
      spec: {
        type: "HDInsight", deletionPolicy: "Delete",
        hdInsight: {
          address: sshd.host, port: sshd.port, username: sshd.user, credentialsSecretRef: { name: "hdi-creds" },
          hostKey: { fingerprint: sshd.fingerprint }, workDir: "hdi-work",
          resourceId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HDInsight/clusters/spark-hdi",
        },
      },
    } as ComputeTarget;
    mod(t.spec.hdInsight!);
    return t;
  }

  beforeAll(async () => {
    ensureSpark();
    ({ az, store } = await storeOnAzurite());
    sshd = await startTestSshd();
    ctx = fakeContext({ "ns/hdi-creds": credentialsFor(sshd, "key") });
  }, 600_000);
  afterAll(async () => { entry.pool.closeAll(); await sshd?.stop(); await az?.close(); });

  it("attaches: host key, credentials, workDir and a working spark-submit", async () => {
    const obs = await entry.compute.ensure(target(), ctx);
    expect(obs.ready).toMatchObject({ status: "True", reason: "Attached" });
    expect(obs.ready.message).toContain("Spark 3.5.3");
    expect(obs.status?.resourceId).toContain("Microsoft.HDInsight/clusters/spark-hdi");
  });

  it("reports a wrong host key, missing Secret and a missing spark-submit", async () => {
    expect((await entry.compute.ensure(target((s) => { s.hostKey = { fingerprint: sshd.otherFingerprint }; }), ctx)).ready)
      .toMatchObject({ status: "False", reason: "HostKeyMismatch" });
    expect((await entry.compute.ensure(target((s) => { s.credentialsSecretRef = { name: "nope" }; }), ctx)).ready)
      .toMatchObject({ status: "False", reason: "SecretNotFound" });
    const noSpark = createHdInsightProvider({ sparkSubmit: "/nonexistent/spark-submit", pool: entry.pool });
    expect((await noSpark.compute.ensure(target(), ctx)).ready).toMatchObject({ status: "False", reason: "InvalidSpec" });
  });

  it("runs a real PySpark job with its driver output and exit code 0", async () => {
    const sub = await submission({
      target: target(), script: "count.py", args: ["--top", "2 words"],
      files: { "count.py": WORD_COUNT, "helper.py": "def words():\n    return 'to be or not to be'.split()\n" },
    });
    const h = await entry.executor!.submit(sub, ctx);
    const { obs } = await observeUntilDone(entry.executor!, sub, h, { ctx, timeoutMs: 120_000 });
    expect(obs.outputTail).toContain("counts [('be', 2), ('not', 1), ('or', 1), ('to', 2)] args ['--top', '2 words']");
    expect(obs).toMatchObject({ state: "Succeeded", exitCode: 0 });
  }, 180_000);

  it("reports a failing PySpark job with exit code 3", async () => {
    const sub = await submission({
      target: target(), script: "fail.py",
      files: { "fail.py": "import sys\nfrom pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nprint('rows', spark.range(5).count(), flush=True)\nspark.stop()\nsys.exit(3)\n" },
    });
    const h = await entry.executor!.submit(sub, ctx);
    const { obs } = await observeUntilDone(entry.executor!, sub, h, { ctx, timeoutMs: 120_000 });
    expect(obs).toMatchObject({ state: "Failed", exitCode: 3 });
    expect(obs.outputTail).toContain("rows 5");
  }, 180_000);

  it("runs the submitted tree exactly as written as the driver's working directory, and keeps its outputs byte-exact", async () => {
    expectTreeKept(await treeRoundTrip({ executor: entry.executor!, ctx: () => ctx, sub: await submission({ target: target(), files: {} }), store }));
  }, 180_000);

  it("cancel kills the Spark application and keeps what the driver wrote to ./outputs", async () => {
    const sub = await submission({
      target: target(), script: "slow.py",
      files: { "slow.py": "import os, time\nfrom pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nos.makedirs('outputs')\nopen('outputs/partial.txt', 'w').write('checkpoint')\nprint('spark up', flush=True)\ntime.sleep(300)\n" },
    });
    const h = await entry.executor!.submit(sub, ctx);
    const deadline = Date.now() + 120_000;
    let o: RunObservation;
    do {
      await new Promise((r) => setTimeout(r, 500));
      o = await entry.executor!.observe({ ...sub, handle: h }, ctx);
    } while (!(o.outputTail ?? "").includes("spark up") && Date.now() < deadline);
    expect(o.state).toBe("Running");
    await entry.executor!.cancel({ ...sub, handle: h }, ctx);
    const { obs } = await observeUntilDone(entry.executor!, sub, h, { ctx, timeoutMs: 60_000 });
    expect(obs.state).toBe("Failed");
    // The driver JVM (SparkSubmit) is gone; "[o]rg" keeps pgrep from matching its own shell.
    const jvms = () => sshd.runAsUser("pgrep -u $(id -u) -f '[o]rg.apache.spark.deploy.SparkSubmit' || true").trim();
    for (let i = 0; i < 40 && jvms() !== ""; i++) await new Promise((r) => setTimeout(r, 250));
    expect(jvms()).toBe("");
    expect(await new DataPlane(dataPlaneEnv({})).readResult(store, runIdentity(sub.run.metadata), 1)).toMatchObject({ reason: "Canceled", outputs: { files: 1 } });
    expect((await store.readRunBlob(`${attemptPrefix(runIdentity(sub.run.metadata), 1)}outputs/partial.txt`))?.toString()).toBe("checkpoint");
  }, 180_000);

  it("refuses system-managed environments (at validation) and commands (at submit) with a clear reason", async () => {
    const managed = aSubmission({ target: target(), files: { "train.py": "" }, config: { environment: { systemManaged: { pipPackages: ["numpy"] } } } as never });
    expect(entry.validate(managed.config, managed.target)).toMatchObject({ reason: "UnsupportedOnTarget" });
    const cmd = aSubmission({ target: target(), files: {}, command: ["echo", "hi"] });
    await expect(entry.executor!.submit(cmd, ctx)).rejects.toMatchObject({ reason: "InvalidSpec" });
  });
});
