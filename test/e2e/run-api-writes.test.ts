import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, kubectl, requireCluster, waitFor } from "../cluster/kubectl.js";
import { apply, condition, getRunConfiguration, getTarget, localTarget, runConfiguration, scriptRun, waitForPhase } from "./support/aml.js";
import { endTest, installCrds, type RunningOperator, startOperator } from "./support/operator.js";
import { deltaOf, requestsByVerbAndKind, waitIdle } from "./support/operator-metrics.js";

/**
 * What one Local run costs the API server, counted exactly from the operator's own request
 * counter (every request goes through one door), never timed: the writes from apply to the final
 * status, and those of deleting it.
 */
const WRITE_VERBS = new Set(["create", "update", "patch", "delete"]);
const writesOf = (delta: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(delta).filter(([k, v]) => v > 0 && WRITE_VERBS.has(k.split(" ")[0] ?? "")));
const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** Prints, then waits (in the run's working directory) for the file `go`. */
const WAIT_FOR_GO = "import os, time\nprint('counted', flush=True)\nwhile not os.path.exists('go'):\n    time.sleep(0.2)\n";

let ns: string;
let op: RunningOperator | undefined;

beforeAll(async () => {
  await requireCluster();
  await installCrds();
  ns = await createNamespace("e2e-writes");
  op = await startOperator({ WATCH_NAMESPACE: ns });
  await apply(localTarget(ns, "local"), runConfiguration(ns, "python"));
  await waitFor("target Ready", 60_000, async () => condition(await getTarget(ns, "local"), "Ready")?.status === "True");
  await waitFor("RunConfiguration Ready", 60_000, async () => condition(await getRunConfiguration(ns, "python"), "Ready")?.status === "True");
});

afterAll(async () => {
  await endTest(op, ns);
});

describe("API writes of one Local run", () => {
  it("counts the writes of one Local run from apply to Completed and of its deletion", async () => {
    if (!op) throw new Error("no operator");
    // A first run creates the namespace's shared runner ConfigMap; the count is for a run after it.
    await apply(scriptRun(ns, "warm-up", { "main.py": "print('warm')\n" }));
    await waitForPhase(ns, "warm-up", ["Completed"]);
    await waitIdle(op);

    const before = await requestsByVerbAndKind(op);
    // The script waits for a file the test creates once the run shows Running, so the count always
    // includes the Running write, however fast or slow the machine is.
    await apply(scriptRun(ns, "counted", { "main.py": WAIT_FOR_GO }));
    const running = await waitForPhase(ns, "counted", ["Running"]);
    const pod = running.status?.links?.podName;
    if (!pod) throw new Error("a Running run names its pod");
    await kubectl(["-n", ns, "exec", pod, "-c", "train", "--", "python3", "-c", "open('go', 'w').close()"]);
    await waitForPhase(ns, "counted", ["Completed"]);
    await waitIdle(op);
    const done = await requestsByVerbAndKind(op);
    const lifecycle = writesOf(deltaOf(done, before));
    console.log(`writes from apply to Completed: ${JSON.stringify(lifecycle)}`);

    await kubectl(["-n", ns, "delete", "trainingrun", "counted", "--wait=true", "--timeout=120s"]);
    await waitIdle(op);
    const deletion = writesOf(deltaOf(await requestsByVerbAndKind(op), done));
    console.log(`writes to delete it: ${JSON.stringify(deletion)}`);

    // The finalizer (the run's outputs in the store go with it), the attempt's store Secret, the
    // Job, and three status writes: submitted (Starting), Running, Completed with its release.
    expect(lifecycle).toEqual({ "patch TrainingRun": 1, "create Secret": 1, "create Job": 1, "update TrainingRun": 3 });
    expect(total(lifecycle)).toBe(6);
    // Deleting: the finalizer comes off; the garbage collector deletes the Job and Secret the run owns.
    expect(deletion).toEqual({ "patch TrainingRun": 1 });
  });
});
