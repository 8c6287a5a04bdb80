// batch/v1 Jobs complete (job controller) and finished Jobs are removed by the TTL-after-finished
// controller; the pods they leave are garbage-collected with them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRAINING_IMAGE, apply, createNamespace, deleteNamespace, kubectl, kubectlJson, requireCluster, waitFor } from "./kubectl.js";

interface JobStatus {
  succeeded?: number;
  conditions?: Array<{ type: string; status: string }>;
}

describe("local cluster: batch/v1 Job", () => {
  let ns = "";
  beforeAll(async () => {
    await requireCluster();
    ns = await createNamespace("cluster-job");
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it("completes, then is deleted by the TTL-after-finished controller with its pods", async () => {
    await apply({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "train", namespace: ns },
      spec: {
        backoffLimit: 0,
        ttlSecondsAfterFinished: 5,
        template: {
          spec: {
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 1,
            containers: [
              { name: "main", image: TRAINING_IMAGE, imagePullPolicy: "IfNotPresent", command: ["python3", "-c", "print('trained')"] },
            ],
          },
        },
      },
    });
    const status = await waitFor("job to complete", 90_000, async () => {
      const job = await kubectlJson<{ status?: JobStatus }>(["-n", ns, "get", "job", "train"]);
      const done = job.status?.conditions?.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
      return done ? job.status : undefined;
    });
    expect(status?.conditions?.some((c) => c.type === "Complete" && c.status === "True")).toBe(true);
    expect(status?.succeeded).toBe(1);
    const logs = await kubectl(["-n", ns, "logs", "job/train"]);
    expect(logs.stdout.trim()).toBe("trained");

    await waitFor("TTL controller to delete the job", 60_000, async () =>
      (await kubectl(["-n", ns, "get", "job", "train"], { allowFail: true })).stderr.includes("NotFound"));
    await waitFor("garbage collector to delete the job's pods", 60_000, async () => {
      const pods = await kubectl(["-n", ns, "get", "pods", "-l", "job-name=train", "-o", "name"]);
      return pods.stdout.trim() === "";
    });
  });
});
