// Multi-node TrainingRuns on the Local target, end to end: the real operator, Indexed Jobs whose
// pods find each other through the headless Service's names and cluster DNS, and the gang rules
// (a failed rank fails the attempt; an unschedulable rank fails it after the bound). The scripts
// use Python's standard library only: no framework wheel is installed in the training image.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, deleteNamespace, kubectlJson, requireCluster, waitFor } from "../cluster/kubectl.js";
import { apply, condition, localTarget, scriptRun, waitForPhase } from "./support/aml.js";
import { installCrds, startOperator, stopOperator, type RunningOperator } from "./support/operator.js";

interface PodItem { metadata: { name: string; annotations?: Record<string, string> }; status?: { phase?: string } }

const podsOf = async (ns: string, uid: string): Promise<PodItem[]> =>
  (await kubectlJson<{ items: PodItem[] }>(["-n", ns, "get", "pods", "-l", `amlcompute.dev/run-uid=${uid}`])).items;
const servicesOf = async (ns: string, uid: string): Promise<unknown[]> =>
  (await kubectlJson<{ items: unknown[] }>(["-n", ns, "get", "services", "-l", `amlcompute.dev/run-uid=${uid}`])).items;
const notFinished = (pods: PodItem[]): PodItem[] => pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");

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
    await stopOperator(op);
    if (ns) await deleteNamespace(ns);
  });

  it("fails the attempt with a rank's exit code 3 and stops the other ranks", async () => {
    const main = "import os, sys, time\nif os.environ['NODE_RANK'] == '1':\n    time.sleep(3)\n    print('rank 1 gives up', flush=True)\n    sys.exit(3)\nprint('rank 0 training', flush=True)\ntime.sleep(600)\n";
    await apply(scriptRun(ns, "rankfails", { "main.py": main }, distributed({ framework: "PyTorch", nodeCount: 2 })));
    const run = await waitForPhase(ns, "rankfails", ["Completed", "Failed"], 240_000);
    expect(run.status?.exitCode).toBe(3);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "ScriptFailed" });
    expect(run.status?.outputTail).toContain("rank 1 gives up");
    const uid = run.metadata.uid ?? "";
    await waitFor("no rank left running", 120_000, async () => notFinished(await podsOf(ns, uid)).length === 0);
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
    await waitFor("no rank left running or pending", 120_000, async () => notFinished(await podsOf(ns, uid)).length === 0);
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
