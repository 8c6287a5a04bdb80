// RemoteVM end to end: the operator process attaches a real sshd on 127.0.0.1 (pinned host key,
// key from a Secret), runs scripts there detached through the run data plane (snapshot from the
// cluster's Azurite, outputs back to it), and survives its own restart mid-run.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNamespace, kubectl, requireCluster, waitFor } from "../cluster/kubectl.js";
import { dataPlaneEnv } from "../../src/data-plane/config.js";
import { DataPlane } from "../../src/data-plane/data-plane.js";
import type { BlobStore } from "../../src/data-plane/store.js";
import { startTestSshd, type TestSshd } from "../support/sshd.js";
import { apply, condition, getTarget, scriptRun, waitForPhase } from "./support/aml.js";
import { endTest, installCrds, type RunningOperator, startOperator, stopOperator } from "./support/operator.js";
import { clusterServicesEnv, storeOnLoopback } from "./support/services.js";
import { expectCanceledRunKeepsOutputs, expectTreeRunKept } from "./support/tree-runs.js";

describe("TrainingRun on a RemoteVM target (real sshd)", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  let vm: TestSshd | undefined;
  let store: BlobStore;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    vm = await startTestSshd({ user: "amle2evm" });
    ns = await createNamespace("e2e-vm");
    op = await startOperator({ WATCH_NAMESPACE: ns, ...storeOnLoopback() });
    store = await new DataPlane(dataPlaneEnv(clusterServicesEnv())).storeFor(ns, async () => undefined);
    await kubectl(["-n", ns, "create", "secret", "generic", "vm-key", `--from-literal=privateKey=${vm.privateKey}`]);
    await apply(
      {
        apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name: "vm", namespace: ns },
        spec: { type: "RemoteVM", remoteVM: { address: vm.host, port: vm.port, username: vm.user, credentialsSecretRef: { name: "vm-key" }, hostKey: { fingerprint: vm.fingerprint } } },
      },
      {
        apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name: "impostor", namespace: ns },
        spec: { type: "RemoteVM", remoteVM: { address: vm.host, port: vm.port, username: vm.user, credentialsSecretRef: { name: "vm-key" }, hostKey: { fingerprint: vm.otherFingerprint } } },
      },
      { apiVersion: "amlcompute.dev/v1alpha1", kind: "RunConfiguration", metadata: { name: "python", namespace: ns }, spec: { computeTargetRef: { name: "vm" } } },
    );
  });

  // The CRDs are cluster-wide and shared with every worktree's tests: apply ours before each test.
  beforeEach(installCrds);

  afterAll(async () => {
    await endTest(op, ns);
    await vm?.stop();
  });

  it("attaches the VM with its detected capabilities, and refuses a host presenting another key", async () => {
    const target = await waitFor("vm Ready", 60_000, async () => {
      const t = await getTarget(ns, "vm");
      return condition(t, "Ready")?.status === "True" ? t : undefined;
    });
    expect(target.status?.capabilities?.pythonVersions?.length).toBeGreaterThan(0);
    const impostor = await waitFor("impostor refused", 60_000, async () => {
      const t = await getTarget(ns, "impostor");
      return condition(t, "Ready") ? t : undefined;
    });
    expect(condition(impostor, "Ready")).toMatchObject({ status: "False", reason: "HostKeyMismatch" });
  });

  it("runs a script on the VM to Completed and another to Failed with exit code 3", async () => {
    await apply(scriptRun(ns, "vm-ok", { "main.py": "import socket\nprint('trained on the vm')\n", "lib/extra.py": "X = 1\n" }));
    await apply(scriptRun(ns, "vm-exit3", { "main.py": "import sys\nprint('no data', flush=True)\nsys.exit(3)\n" }));
    const ok = await waitForPhase(ns, "vm-ok", ["Completed", "Failed"], 120_000);
    expect(ok.status?.phase).toBe("Completed");
    expect(ok.status?.outputTail).toContain("trained on the vm");
    expect(ok.status?.links?.remoteRunDir).toBeTruthy();
    const bad = await waitForPhase(ns, "vm-exit3", ["Completed", "Failed"], 120_000);
    expect(bad.status?.exitCode).toBe(3);
    expect(condition(bad, "Succeeded")).toMatchObject({ status: "False", reason: "ScriptFailed" });
  });

  it("runs a submitted directory exactly as written (binary, non-ASCII, empty, executable, nested) and downloads its outputs byte-exact", async () => {
    const { run } = await expectTreeRunKept(ns, "python");
    expect(run.status?.links?.remoteRunDir).toBeTruthy();
  });

  it("keeps the outputs of a run canceled while running", async () => {
    await expectCanceledRunKeepsOutputs(ns, "python", store);
  });

  it("retries a run whose VM cannot reach the store, then fails it with SnapshotUnavailable: nothing ran", async () => {
    // The namespace's store Secret wins over the operator's settings: the operator still reaches
    // the store, the VM is sent to a port where nothing listens.
    const services = clusterServicesEnv();
    await kubectl(["-n", ns, "create", "secret", "generic", "aml-store", `--from-literal=url=${services.AML_STORE_URL}`,
      "--from-literal=targetUrl=http://127.0.0.1:9/devstoreaccount1", `--from-literal=connectionString=${services.AML_STORE_CONNECTION_STRING}`]);
    try {
      await apply(scriptRun(ns, "vm-no-store", { "main.py": "print('THE SCRIPT RAN')\n" }, { backoffLimit: 1 }));
      const run = await waitForPhase(ns, "vm-no-store", ["Completed", "Failed"], 180_000);
      expect(run.status?.attempts).toBe(2);
      expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "SnapshotUnavailable" });
      expect(condition(run, "Succeeded")?.message).toMatch(/nothing ran: SnapshotUnavailable: reading the manifest/);
      expect(run.status?.outputTail ?? "").not.toContain("THE SCRIPT RAN");
      expect(JSON.stringify(run.status)).not.toMatch(/sig=|AccountKey/);
    } finally {
      await kubectl(["-n", ns, "delete", "secret", "aml-store"]);
    }
  }, 240_000);

  it("finishes a run started before an operator crash with exactly one process on the VM", async () => {
    await apply(scriptRun(ns, "vm-restart", { "main.py": "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(6)\nprint('done after restart')\n" }));
    await waitForPhase(ns, "vm-restart", ["Running"], 60_000);
    await stopOperator(op, "SIGKILL");
    op = await startOperator({ WATCH_NAMESPACE: ns });
    const run = await waitForPhase(ns, "vm-restart", ["Completed", "Failed"], 120_000);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.outputTail?.match(/^pid /gm)).toHaveLength(1);
    expect(run.status?.outputTail).toContain("done after restart");
  });
});
