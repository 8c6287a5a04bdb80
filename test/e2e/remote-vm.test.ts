// RemoteVM end to end: the operator process attaches a real sshd on 127.0.0.1 (pinned host key,
// key from a Secret), runs scripts there detached, and survives its own restart mid-run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, deleteNamespace, kubectl, requireCluster, waitFor } from "../cluster/kubectl.js";
import { startTestSshd, type TestSshd } from "../support/sshd.js";
import { apply, condition, getTarget, scriptRun, waitForPhase } from "./support/aml.js";
import { installCrds, startOperator, stopOperator, type RunningOperator } from "./support/operator.js";

describe("TrainingRun on a RemoteVM target (real sshd)", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  let vm: TestSshd | undefined;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    vm = await startTestSshd({ user: "amle2evm" });
    ns = await createNamespace("e2e-vm");
    op = await startOperator({ WATCH_NAMESPACE: ns });
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

  afterAll(async () => {
    await stopOperator(op);
    if (ns) await deleteNamespace(ns);
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

  it("uploads no file content for a second run of an unchanged source", async () => {
    await apply(scriptRun(ns, "vm-again", { "main.py": "import socket\nprint('trained on the vm')\n", "lib/extra.py": "X = 1\n" }));
    const run = await waitForPhase(ns, "vm-again", ["Completed", "Failed"], 120_000);
    expect(run.status?.phase).toBe("Completed");
    const upload = (run.status?.execution?.handle as { upload?: { bytes: number } } | undefined)?.upload;
    expect(upload?.bytes).toBe(0);
  });

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
