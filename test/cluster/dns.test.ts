// The local cluster has what multi-node training needs from a real one: cluster DNS (CoreDNS at
// 10.96.0.10, domain cluster.local) and kube-proxy. A pod finds another by its stable per-pod name
// under a headless Service (<hostname>.<subdomain>.<namespace>.svc.cluster.local) and connects to
// it; a ClusterIP Service's name resolves to its virtual IP, which kube-proxy forwards to the pod.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apply,
  createNamespace,
  deleteNamespace,
  kubectl,
  kubectlJson,
  requireCluster,
  trainingPod,
  waitFor,
  waitForPodDone,
} from "./kubectl.js";

const PORT = 7000;

/** Serves one line naming itself to every connection, until it has served `connections`. */
const SERVER = `
import socket, sys
n = int(sys.argv[1])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", ${PORT})); srv.listen()
for _ in range(n):
    conn, _ = srv.accept()
    conn.sendall(("hello from " + socket.getfqdn() + "\\n").encode()); conn.close()
`;

/** Resolves each name (retrying while DNS catches up), connects, prints "name ip reply". */
const CLIENT = `
import socket, sys, time
for name in sys.argv[1:]:
    deadline = time.time() + 60
    while True:
        try:
            ip = socket.gethostbyname(name)
            with socket.create_connection((ip, ${PORT}), timeout=10) as c:
                reply = c.makefile().readline().strip()
            break
        except OSError as e:
            if time.time() > deadline: raise
            time.sleep(1)
    print(name, ip, reply, flush=True)
print(open("/etc/resolv.conf").read())
`;

describe("local cluster: Services and cluster DNS", () => {
  let ns = "";
  beforeAll(async () => {
    await requireCluster();
    ns = await createNamespace("cluster-dns");
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it("resolves a headless Service's per-pod name and a ClusterIP Service, and connects through both", async () => {
    const labels = { app: "rank" };
    const server = trainingPod(ns, "rank-0", ["python3", "-c", SERVER, "2"], { hostname: "rank-0", subdomain: "workers" });
    (server as { metadata: Record<string, unknown> }).metadata.labels = labels;
    const service = (name: string, headless: boolean) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns },
      spec: { ...(headless ? { clusterIP: "None" } : {}), selector: labels, ports: [{ port: PORT, targetPort: PORT }] },
    });
    await apply(service("workers", true), service("echo", false), server);
    const podIP = await waitFor("server pod IP", 60_000, async () => {
      const pod = await kubectlJson<{ status?: { podIP?: string; phase?: string } }>(["-n", ns, "get", "pod", "rank-0"]);
      return pod.status?.phase === "Running" ? pod.status.podIP : undefined;
    });
    const clusterIP = (await kubectlJson<{ spec: { clusterIP: string } }>(["-n", ns, "get", "service", "echo"])).spec.clusterIP;

    const perPodName = `rank-0.workers.${ns}.svc.cluster.local`;
    await apply(trainingPod(ns, "client", ["python3", "-c", CLIENT, perPodName, "echo"]));
    const status = await waitForPodDone(ns, "client", 120_000);
    const logs = (await kubectl(["-n", ns, "logs", "client"])).stdout;
    expect(logs).toContain(`${perPodName} ${podIP} hello from ${perPodName}`);
    expect(logs).toContain(`echo ${clusterIP} hello from ${perPodName}`);
    expect(logs).toContain("nameserver 10.96.0.10");
    expect(logs).toContain(`search ${ns}.svc.cluster.local svc.cluster.local cluster.local`);
    expect(status.phase).toBe("Succeeded");
    expect((await waitForPodDone(ns, "rank-0")).phase).toBe("Succeeded");
  });
});
