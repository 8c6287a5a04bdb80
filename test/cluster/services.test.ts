// The services embedded in the local cluster (Azurite, MLflow) answer on the host's loopback and,
// through the pod bridge's gateway, from inside pods: what the host writes, a pod reads back.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import {
  BlobSASPermissions,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, createNamespace, deleteNamespace, kubectl, repoRoot, requireCluster, trainingPod, waitForPodDone } from "./kubectl.js";

const SERVICES_ENV = join(repoRoot, ".cluster", "services.env");

function servicesEnv(): Record<string, string> {
  if (!existsSync(SERVICES_ENV)) throw new Error(`${SERVICES_ENV} is missing (run \`make cluster-up\`)`);
  return parseEnv(readFileSync(SERVICES_ENV, "utf8")) as Record<string, string>;
}

/** A pod that prints the body of each URL (stdlib only) as one JSON string per line. */
function fetchPod(ns: string, name: string, urls: string[]): object {
  const script = [
    "import json, sys, urllib.request",
    "for u in sys.argv[1:]:",
    "    print(json.dumps(urllib.request.urlopen(u, timeout=20).read().decode()))",
  ].join("\n");
  return trainingPod(ns, name, ["python3", "-c", script, ...urls]);
}

describe("local cluster: embedded services", () => {
  let ns = "";
  let env: Record<string, string> = {};
  beforeAll(async () => {
    await requireCluster();
    env = servicesEnv();
    ns = await createNamespace("cluster-services");
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it("writes every address into .cluster/services.env", () => {
    expect(env.AML_STORE_URL).toBe("http://127.0.0.1:10000/devstoreaccount1");
    expect(env.AML_STORE_TARGET_URL).toBe("http://10.244.0.1:10000/devstoreaccount1");
    expect(env.AML_STORE_CONNECTION_STRING).toContain("AccountName=devstoreaccount1;");
    expect(env.MLFLOW_TRACKING_URI).toBe("http://127.0.0.1:5000");
    expect(env.MLFLOW_TARGET_TRACKING_URI).toBe("http://10.244.0.1:5000");
  });

  it("serves a blob written on the host and an MLflow experiment created on the host to a pod", async () => {
    const marker = `hello-${randomBytes(4).toString("hex")}`;
    // Blob: written through the host address with the connection string, read in the pod through
    // the pod address with a read-only SAS (targets never get the account key).
    const blobs = BlobServiceClient.fromConnectionString(env.AML_STORE_CONNECTION_STRING!);
    const container = blobs.getContainerClient(`cluster-services-${randomBytes(3).toString("hex")}`);
    await container.create();
    try {
      await container.getBlockBlobClient("marker.txt").upload(marker, marker.length);
      const credential = blobs.credential as StorageSharedKeyCredential;
      const sas = generateBlobSASQueryParameters(
        {
          containerName: container.containerName,
          blobName: "marker.txt",
          permissions: BlobSASPermissions.parse("r"),
          expiresOn: new Date(Date.now() + 3_600_000),
        },
        credential,
      ).toString();
      const blobUrl = `${env.AML_STORE_TARGET_URL}/${container.containerName}/marker.txt?${sas}`;

      // MLflow: an experiment created through the host address, looked up by name from the pod.
      const experimentName = `cluster-services-${marker}`;
      const created = await fetch(`${env.MLFLOW_TRACKING_URI}/api/2.0/mlflow/experiments/create`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: experimentName }),
      });
      expect(created.status).toBe(200);
      const { experiment_id: experimentId } = (await created.json()) as { experiment_id: string };
      const mlflowUrl = `${env.MLFLOW_TARGET_TRACKING_URI}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${experimentName}`;

      await apply(fetchPod(ns, "fetch", [blobUrl, mlflowUrl]));
      const status = await waitForPodDone(ns, "fetch");
      const logs = (await kubectl(["-n", ns, "logs", "fetch"])).stdout.trim().split("\n").map((l) => JSON.parse(l) as string);
      expect(status.phase).toBe("Succeeded");
      expect(logs[0]).toBe(marker);
      const experiment = JSON.parse(logs[1] ?? "{}") as { experiment?: { experiment_id?: string; name?: string } };
      expect(experiment.experiment?.experiment_id).toBe(experimentId);
      expect(experiment.experiment?.name).toBe(experimentName);
    } finally {
      await container.delete();
    }
  });
});
