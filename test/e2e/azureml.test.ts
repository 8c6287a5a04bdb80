// AmlCompute end to end: the operator process → real @azure SDKs → the ARM emulator (HTTPS, bearer
// auth, long-running operations) and Azurite; the command job really executes the script. The run
// data plane too: a directory submitted with the plugin becomes the job's code, and the job's
// outputs come back through the run store to `kubectl aml download`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, kubectl, requireCluster, waitFor } from "../cluster/kubectl.js";
import { startAzurite, startEmulator, type Azurite, type Emulator } from "../azure-emulator/index.js";
import { apply, condition, getTarget, patchRun, scriptRun, waitForPhase } from "./support/aml.js";
import { submitTreeAndDownload } from "./support/plugin.js";
import { endTest, installCrds, type RunningOperator, startOperator } from "./support/operator.js";

const WS = { subscriptionId: "11111111-2222-3333-4444-555555555555", resourceGroup: "rg-ml", name: "ws-e2e", location: "westeurope" };

describe("TrainingRun on an AmlCompute target (ARM emulator)", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  let emu: Emulator | undefined;
  let azurite: Azurite | undefined;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    azurite = await startAzurite();
    emu = await startEmulator({
      workspaces: [WS], provisioningMs: 1500, deletingMs: 500, retryAfterSeconds: 1,
      azurite: { blobEndpoint: azurite.blobEndpoint, accountName: azurite.accountName, accountKey: azurite.accountKey },
    });
    ns = await createNamespace("e2e-aml");
    op = await startOperator({
      WATCH_NAMESPACE: ns, AML_ARM_REQUESTS_PER_SECOND: "50", AML_ARM_REQUEST_BURST: "100",
      AML_ARM_ENDPOINT: emu.url, AZURE_AUTHORITY_HOST: emu.url, AML_DISABLE_INSTANCE_DISCOVERY: "true",
      AML_CA_BUNDLE_PATH: emu.caPath, AML_BLOB_ENDPOINT_TEMPLATE: `http://127.0.0.1:${azurite.port}/{account}`,
      AML_OPERATION_POLL_MS: "500", AML_JOB_POLL_MS: "1000",
    });
    const client = emu.clients[0]!;
    await kubectl(["-n", ns, "create", "secret", "generic", "aml-azure-credentials",
      `--from-literal=AZURE_TENANT_ID=${emu.tenantId}`, `--from-literal=AZURE_CLIENT_ID=${client.clientId}`, `--from-literal=AZURE_CLIENT_SECRET=${client.clientSecret}`]);
    await apply(
      {
        apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name: "cpu-cluster", namespace: ns },
        spec: { type: "AmlCompute", amlCompute: { workspace: { subscriptionId: WS.subscriptionId, resourceGroup: WS.resourceGroup, name: WS.name }, vmSize: "STANDARD_D2_V2", maxNodes: 2 } },
      },
      { apiVersion: "amlcompute.dev/v1alpha1", kind: "RunConfiguration", metadata: { name: "python", namespace: ns }, spec: { computeTargetRef: { name: "cpu-cluster" } } },
    );
  });

  afterAll(async () => {
    await endTest(op, ns);
    await emu?.close();
    await azurite?.close();
  });

  it("provisions the cluster through ARM and becomes Ready", async () => {
    const target = await waitFor("AmlCompute Ready", 60_000, async () => {
      const t = await getTarget(ns, "cpu-cluster");
      return condition(t, "Ready")?.status === "True" ? t : undefined;
    });
    expect(target.status?.provisioningState).toBe("Succeeded");
    expect(target.status?.resourceId).toContain("/computes/cpu-cluster");
    expect(target.metadata.finalizers).toContain("amlcompute.dev/finalizer");
  });

  it("runs a script as an Azure ML command job with its real output and exit code", async () => {
    await apply(scriptRun(ns, "aml-ok", { "main.py": "print('hello from azure ml', 6 * 7)\n" }));
    const run = await waitForPhase(ns, "aml-ok", ["Completed", "Failed"], 120_000);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.exitCode).toBe(0);
    expect(run.status?.outputTail).toContain("hello from azure ml 42");
    expect(run.status?.links?.azureJobName).toBeTruthy();
    expect(run.status?.links?.studioUrl).toContain("ml.azure.com");

    await apply(scriptRun(ns, "aml-exit3", { "main.py": "import sys\nprint('bad data')\nsys.exit(3)\n" }));
    const failed = await waitForPhase(ns, "aml-exit3", ["Completed", "Failed"], 120_000);
    expect(failed.status?.phase).toBe("Failed");
    expect(failed.status?.exitCode).toBe(3);
  });

  it("runs a directory submitted with kubectl aml submit exactly as written and keeps its outputs for download", async () => {
    await submitTreeAndDownload(ns, "python");
  });

  it.each([
    ["completes", "rb-done", "print('on a temporary cluster')\n", (run: string) => waitForPhase(ns, run, ["Completed", "Failed"], 120_000)],
    ["is canceled", "rb-cancel", "import time\nprint('long job', flush=True)\ntime.sleep(300)\n", async (run: string) => {
      await waitForPhase(ns, run, ["Running"], 120_000);
      await patchRun(ns, run, { cancel: true });
      return waitForPhase(ns, run, ["Canceled"], 60_000);
    }],
  ])("creates a run-based compute for a run and deletes it after the run %s", async (_how, name, script, finish) => {
    await apply(scriptRun(ns, name, { "main.py": script }, { runBasedCompute: { vmSize: "STANDARD_D2_V2", maxNodes: 1 } }));
    const run = await finish(name);
    const compute = run.status?.links?.computeName ?? "";
    expect(compute).toMatch(/^rb-/);
    await waitFor(`run-based compute ${compute} deleted`, 60_000, async () => emu!.controls.compute(WS, compute) === undefined);
    expect(emu!.controls.count({ method: "PUT", path: `/computes/${compute}` })).toBe(1);
    expect(emu!.controls.count({ method: "DELETE", path: `/computes/${compute}` })).toBe(1);
  });

  it("deletes the Azure compute exactly once when the target is deleted", async () => {
    await kubectl(["-n", ns, "delete", "computetarget", "cpu-cluster", "--wait=true", "--timeout=60s"]);
    expect(emu!.controls.count({ method: "DELETE", path: "/computes/cpu-cluster" })).toBe(1);
    expect(emu!.controls.compute(WS, "cpu-cluster")).toBeUndefined();
  });
});
