// Multi-node TrainingRuns on the Local target, end to end: the real operator, Indexed Jobs whose
// pods find each other through the headless Service's names and cluster DNS, and the gang rules
// (a failed rank fails the attempt; an unschedulable rank fails it after the bound). The scripts
// use Python's standard library only: no framework wheel is installed in the training image.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, kubectl, kubectlJson, requireCluster, waitFor } from "../cluster/kubectl.js";
import { apply, condition, localTarget, scriptRun, waitForPhase } from "./support/aml.js";
import { endTest, installCrds, type RunningOperator, startOperator } from "./support/operator.js";

/**
 * A star all-reduce over TCP, the way torch.distributed's TCPStore meets: every rank dials
 * MASTER_ADDR:MASTER_PORT (rank 0's stable name), sends its number, and rank 0 answers every rank
 * with the sum. Names may take a moment to resolve and rank 0 to listen, so dialing retries.
 * Two processes share a pod's output, so every line is one write (print() writes its parts apart).
 */
const ALL_REDUCE = `import os, socket, sys, time
def say(*parts):
    sys.stdout.write(" ".join(str(p) for p in parts) + "\\n")
    sys.stdout.flush()
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
mine = (rank + 1) * 10
say("rank", rank, "local", os.environ["LOCAL_RANK"], "node", os.environ["NODE_RANK"], "master", addr)

def dial(host, port, timeout=180):
    deadline = time.time() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=10)
        except OSError as e:
            if time.time() > deadline:
                sys.exit(f"rank {rank}: cannot reach {host}:{port}: {e}")
            time.sleep(0.5)

if rank == 0:
    server = socket.create_server(("", port))
    server.settimeout(180)
    peers, total = [], mine
    while len(peers) < world - 1:
        conn, _ = server.accept()
        r, n = conn.makefile().readline().split()
        peers.append(conn)
        total += int(n)
    for conn in peers:
        conn.sendall(f"{total}".encode() + b"\\n")
        conn.close()
else:
    conn = dial(addr, port)
    conn.sendall(f"{rank} {mine}".encode() + b"\\n")
    total = int(conn.makefile().readline())
say("rank", rank, "sum", total)
`;

/**
 * Checks TF_CONFIG as MultiWorkerMirroredStrategy reads it, then proves the addresses are real:
 * every worker listens on its own cluster entry and reaches every other worker's entry.
 */
const TF_CONFIG_CHECK = `import json, os, socket, sys, threading, time
tf = json.loads(os.environ["TF_CONFIG"])
workers, task = tf["cluster"]["worker"], tf["task"]
me = task["index"]
assert task["type"] == "worker", task
assert len(workers) == int(os.environ["WORLD_SIZE"]), workers
assert me == int(os.environ["RANK"]), (me, os.environ["RANK"])
host, port = workers[me].rsplit(":", 1)
assert host.split(".")[0] == socket.gethostname(), (host, socket.gethostname())
server = socket.create_server(("", int(port)))
def answer():
    for _ in range(len(workers) - 1):
        conn, _ = server.accept()
        conn.sendall(f"{me}".encode())
        conn.close()
threading.Thread(target=answer, daemon=True).start()
reached = []
for i, w in enumerate(workers):
    if i == me:
        continue
    h, p = w.rsplit(":", 1)
    deadline = time.time() + 180
    while True:
        try:
            with socket.create_connection((h, int(p)), timeout=10) as c:
                reached.append(int(c.recv(16)))
            break
        except OSError as e:
            if time.time() > deadline:
                sys.exit(f"worker {me}: cannot reach {w}: {e}")
            time.sleep(0.5)
sys.stdout.write(f"worker {me} of {len(workers)} reached {sorted(reached)}" + "\\n")
sys.stdout.flush()
time.sleep(5)  # stay up until the others have dialed this worker
`;

interface PodItem { metadata: { name: string; annotations?: Record<string, string> }; status?: { phase?: string } }

const podsOf = async (ns: string, uid: string): Promise<PodItem[]> =>
  (await kubectlJson<{ items: PodItem[] }>(["-n", ns, "get", "pods", "-l", `amlcompute.dev/run-uid=${uid}`])).items;
const servicesOf = async (ns: string, uid: string): Promise<unknown[]> =>
  (await kubectlJson<{ items: unknown[] }>(["-n", ns, "get", "services", "-l", `amlcompute.dev/run-uid=${uid}`])).items;
const rankOfPod = (p: PodItem): number => Number(p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]);
const notFinished = (pods: PodItem[]): PodItem[] => pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");

async function logsByRank(ns: string, uid: string): Promise<string[]> {
  const pods = (await podsOf(ns, uid)).sort((a, b) => rankOfPod(a) - rankOfPod(b));
  return Promise.all(pods.map(async (p) => (await kubectl(["-n", ns, "logs", p.metadata.name, "-c", "train"])).stdout));
}

const distributed = (config: Record<string, unknown>) => ({
  runConfigurationRef: undefined,
  runConfiguration: { computeTargetRef: { name: "local" }, ...config },
});

describe("distributed TrainingRuns on a Local target", () => {
  let ns = "";
  let op: RunningOperator | undefined;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("e2e-dist");
    op = await startOperator({ WATCH_NAMESPACE: ns });
    await apply(localTarget(ns));
  });

  afterAll(async () => {
    await endTest(op, ns);
  });

  it("2 nodes × 2 processes meet through rank 0's stable name and every rank prints the same sum", async () => {
    await apply(scriptRun(ns, "allreduce", { "main.py": ALL_REDUCE }, distributed({ framework: "PyTorch", nodeCount: 2, processCountPerNode: 2 })));
    const run = await waitForPhase(ns, "allreduce", ["Completed", "Failed"], 240_000);
    const uid = run.metadata.uid ?? "";
    const logs = await logsByRank(ns, uid);
    expect(run.status?.phase, `${run.status?.outputTail}\n${logs.join("\n")}`).toBe("Completed");
    expect(logs).toHaveLength(2);
    // 10 + 20 + 30 + 40: each of the 4 ranks contributed, each saw the total.
    expect(logs[0]).toContain("rank 0 sum 100");
    expect(logs[0]).toContain("rank 1 sum 100");
    expect(logs[1]).toContain("rank 2 sum 100");
    expect(logs[1]).toContain("rank 3 sum 100");
    expect(logs[1]).toMatch(/rank 2 local 0 node 1 master \S+-0\.\S+/);
    await waitFor("the attempt's headless Service deleted", 60_000, async () => (await servicesOf(ns, uid)).length === 0);
  });

  it("gives TensorFlow workers a TF_CONFIG whose cluster addresses reach each other", async () => {
    await apply(scriptRun(ns, "tfconfig", { "main.py": TF_CONFIG_CHECK }, distributed({ framework: "TensorFlow", nodeCount: 2, processCountPerNode: 2 })));
    const run = await waitForPhase(ns, "tfconfig", ["Completed", "Failed"], 240_000);
    const logs = await logsByRank(ns, run.metadata.uid ?? "");
    expect(run.status?.phase, `${run.status?.outputTail}\n${logs.join("\n")}`).toBe("Completed");
    expect(logs[0]).toContain("worker 0 of 4 reached [1, 2, 3]");
    expect(logs[0]).toContain("worker 1 of 4 reached [0, 2, 3]");
    expect(logs[1]).toContain("worker 2 of 4 reached [0, 1, 3]");
    expect(logs[1]).toContain("worker 3 of 4 reached [0, 1, 2]");
  });

  it("fails the attempt with a rank's exit code 3 and stops the other ranks", async () => {
    const main = "import os, sys, time\nif os.environ['NODE_RANK'] == '1':\n    time.sleep(3)\n    print('rank 1 gives up', flush=True)\n    sys.exit(3)\nprint('rank 0 training', flush=True)\ntime.sleep(600)\n";
    await apply(scriptRun(ns, "rankfails", { "main.py": main }, distributed({ framework: "PyTorch", nodeCount: 2 })));
    const run = await waitForPhase(ns, "rankfails", ["Completed", "Failed"], 240_000);
    expect(run.status?.exitCode).toBe(3);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "ScriptFailed" });
    expect(run.status?.outputTail).toContain("rank 1 gives up");
    const uid = run.metadata.uid ?? "";
    // The stopped ranks' runners get SIGTERM and upload their outputs within the pod's grace period.
    await waitFor("no rank left running", 240_000, async () => notFinished(await podsOf(ns, uid)).length === 0);
    await waitFor("the attempt's headless Service deleted", 60_000, async () => (await servicesOf(ns, uid)).length === 0);
  });

  it("fails the attempt with Unschedulable when a rank cannot be placed within the bound, leaving nothing running", async () => {
    // A CPU request that fits the node once but not twice: rank 0 may start, rank 1 cannot.
    const nodes = await kubectlJson<{ items: { status: { allocatable: { cpu: string } } }[] }>(["get", "nodes"]);
    const cpu = nodes.items[0]?.status.allocatable.cpu ?? "1";
    const millis = cpu.endsWith("m") ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;
    const request = `${Math.floor(millis * 0.6)}m`;
    const main = "print('rank placed', flush=True)\nimport time\ntime.sleep(600)\n";
    await apply(scriptRun(ns, "gang", { "main.py": main }, distributed({
      framework: "PyTorch", nodeCount: 2, schedulingTimeoutSeconds: 15, resources: { cpu: request },
    })));
    const run = await waitForPhase(ns, "gang", ["Completed", "Failed"], 180_000);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "Unschedulable" });
    expect(condition(run, "Succeeded")?.message).toMatch(/not scheduled within 15s .*Insufficient cpu/);
    const uid = run.metadata.uid ?? "";
    await waitFor("no rank left running or pending", 240_000, async () => notFinished(await podsOf(ns, uid)).length === 0);
    await waitFor("the attempt's headless Service deleted", 60_000, async () => (await servicesOf(ns, uid)).length === 0);
  });

  it("refuses MPI over several processes on Local with UnsupportedOnTarget", async () => {
    await apply(scriptRun(ns, "mpi", { "main.py": "print(1)\n" }, distributed({ framework: "MPI", nodeCount: 2 })));
    const run = await waitForPhase(ns, "mpi", ["Failed"], 60_000);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "UnsupportedOnTarget" });
    expect(condition(run, "Succeeded")?.message).toContain("mpirun");
    expect(await podsOf(ns, run.metadata.uid ?? "")).toHaveLength(0);
  });
});
