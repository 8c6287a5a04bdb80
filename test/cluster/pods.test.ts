// The local cluster runs real containers: the kubelet, containerd and runc execute the training
// image, report exit codes, serve logs, and the CNI gives pods their own IPs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  POD_SUBNET_PREFIX,
  apply,
  createNamespace,
  deleteNamespace,
  kubectl,
  requireCluster,
  trainingPod,
  waitForPodDone,
} from "./kubectl.js";

describe("local cluster: pods", () => {
  let ns = "";
  beforeAll(async () => {
    await requireCluster();
    ns = await createNamespace("cluster-pods");
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it("runs python3 in the training image to Succeeded and serves its logs", async () => {
    await apply(trainingPod(ns, "py42", ["python3", "-c", "print(6*7)"]));
    const status = await waitForPodDone(ns, "py42");
    expect(status.phase).toBe("Succeeded");
    expect(status.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    const logs = await kubectl(["-n", ns, "logs", "py42"]);
    expect(logs.stdout.trim()).toBe("42");
  });

  it("reports a script's exit code 3 as a Failed pod", async () => {
    await apply(trainingPod(ns, "exit3", ["python3", "-c", "import sys; print('about to exit 3'); sys.exit(3)"]));
    const status = await waitForPodDone(ns, "exit3");
    expect(status.phase).toBe("Failed");
    const terminated = status.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.exitCode).toBe(3);
    expect(terminated?.reason).toBe("Error");
    const logs = await kubectl(["-n", ns, "logs", "exit3"]);
    expect(logs.stdout).toContain("about to exit 3");
  });

  it("gives a pod with its own network namespace an IP on the pod subnet", async () => {
    await apply(trainingPod(ns, "podnet", ["sh", "-c", "cat /proc/net/dev | grep -o 'eth0' | head -1"]));
    const status = await waitForPodDone(ns, "podnet");
    expect(status.phase).toBe("Succeeded");
    expect(status.podIP?.startsWith(POD_SUBNET_PREFIX)).toBe(true);
    expect((await kubectl(["-n", ns, "logs", "podnet"])).stdout.trim()).toBe("eth0");
  });

  it("runs hostNetwork pods on the node's address", async () => {
    await apply(trainingPod(ns, "hostnet", ["python3", "-c", "print('host network')"], { hostNetwork: true }));
    const status = await waitForPodDone(ns, "hostnet");
    expect(status.phase).toBe("Succeeded");
    expect(status.podIP).toBe("127.0.0.1");
  });
});
