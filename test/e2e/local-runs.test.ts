// TrainingRuns on the Local target, end to end: the real operator process, the real apiserver,
// real Jobs and pods running python in the locally built training image.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, kubectl, kubectlJson, requireCluster, waitFor } from "../cluster/kubectl.js";
import {
  apply, condition, getRun, getRunConfiguration, getTarget, jobsOfRun, DEV_CACHE, localTarget, patchRun, podsOfRun, runConfiguration,
  scriptRun, waitForPhase,
} from "./support/aml.js";
import { DIGEST_CHECK } from "./support/digest-check.js";
import { endTest, installCrds, metricsText, type RunningOperator, startOperator, stopOperator } from "./support/operator.js";

/** Sum of rest_client_requests_total samples whose HTTP method is one of `methods`. */
function requestsByMethod(metrics: string, methods: string[]): number {
  return metrics.split("\n")
    .filter((l) => l.startsWith("rest_client_requests_total{") && methods.some((m) => l.includes(`method="${m}"`)))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

describe("TrainingRun on a Local target", () => {
  let ns = "";
  let op: RunningOperator | undefined;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("e2e-local");
    op = await startOperator({ WATCH_NAMESPACE: ns });
    await apply(localTarget(ns, "local", DEV_CACHE), runConfiguration(ns, "python", { environmentVariables: { GREETING: "hello" } }));
  });

  afterAll(async () => {
    await endTest(op, ns);
  });

  it("becomes Ready on a Local target and resolves the RunConfiguration with its environment hash", async () => {
    await waitFor("target Ready", 30_000, async () => condition(await getTarget(ns, "local"), "Ready")?.status === "True");
    const rc = await waitFor("rc Ready", 30_000, async () => {
      const r = await getRunConfiguration(ns, "python");
      return condition(r, "Ready")?.status === "True" ? r : undefined;
    });
    expect(rc.status?.environmentHash).toMatch(/^[0-9a-f]{16}$/);
    expect(rc.status?.targetType).toBe("Local");
  });

  it("runs a nested multi-file source to Completed with its output, and the digest matches in the pod", async () => {
    await apply(scriptRun(ns, "ok", {
      "main.py": "import os\nfrom pkg.util import answer\nprint('greeting', os.environ['GREETING'])\nprint('answer', answer())\nexec(open('check/digest.py').read())\n",
      "pkg/__init__.py": "",
      "pkg/util.py": "def answer():\n    return 6 * 7\n",
      "check/digest.py": DIGEST_CHECK,
      "data/deep/nested/values.csv": "x,y\n1,2\n",
    }));
    const run = await waitForPhase(ns, "ok", ["Completed", "Failed"]);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.exitCode).toBe(0);
    expect(run.status?.outputTail).toContain("greeting hello");
    expect(run.status?.outputTail).toContain("answer 42");
    expect(run.status?.outputTail).toContain("files 5");
    expect(run.status?.outputTail).toContain("digest ok");
    expect(run.status?.snapshotDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "True", reason: "Completed" });
    expect(run.status?.attempts).toBe(1);
    expect(run.status?.links?.jobName).toBeTruthy();
    expect(run.status?.startTime && run.status.completionTime).toBeTruthy();
  });

  it("fails with the script's exit code 3 and reason ScriptFailed", async () => {
    await apply(scriptRun(ns, "exit3", { "main.py": "import sys\nprint('about to fail')\nsys.exit(3)\n" }));
    const run = await waitForPhase(ns, "exit3", ["Completed", "Failed"]);
    expect(run.status?.phase).toBe("Failed");
    expect(run.status?.exitCode).toBe(3);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "ScriptFailed" });
    expect(run.status?.outputTail).toContain("about to fail");
  });

  it("retries a failed attempt as a new attempt within backoffLimit", async () => {
    await apply(scriptRun(ns, "retry", {
      "main.py": "import os, sys\na = int(os.environ['AML_ATTEMPT'])\nprint('attempt', a)\nsys.exit(0 if a >= 2 else 5)\n",
    }, { backoffLimit: 2 }));
    const run = await waitForPhase(ns, "retry", ["Completed", "Failed"]);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.attempts).toBe(2);
    expect(run.status?.outputTail).toContain("attempt 2");
    expect(await jobsOfRun(ns, run.metadata.uid ?? "")).toHaveLength(2);
  });

  it("keeps the RunConfiguration it started with when the RunConfiguration is edited later", async () => {
    await apply(runConfiguration(ns, "snap", { environmentVariables: { MODE: "first" } }));
    await apply(scriptRun(ns, "snapshotted", { "main.py": "import os, time\ntime.sleep(4)\nprint('mode', os.environ['MODE'])\n" }, { runConfigurationRef: { name: "snap" } }));
    await waitForPhase(ns, "snapshotted", ["Starting", "Running", "Completed"]);
    await apply(runConfiguration(ns, "snap", { environmentVariables: { MODE: "second" } }));
    const run = await waitForPhase(ns, "snapshotted", ["Completed", "Failed"]);
    expect(run.status?.outputTail).toContain("mode first");
    expect(run.status?.runConfiguration?.environmentVariables).toEqual({ MODE: "first" });
  });

  it("stops a run at activeDeadlineSeconds with DeadlineExceeded and removes its pod", async () => {
    await apply(scriptRun(ns, "deadline", { "main.py": "import time\nprint('sleeping')\ntime.sleep(120)\n" }, { activeDeadlineSeconds: 5 }));
    const run = await waitForPhase(ns, "deadline", ["Completed", "Failed"], 60_000);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "DeadlineExceeded" });
    await waitFor("deadline pods gone", 60_000, async () => (await podsOfRun(ns, run.metadata.uid ?? "")).length === 0);
  });

  it("cancels a running run: Canceled, pod stopped", async () => {
    await apply(scriptRun(ns, "cancel", { "main.py": "import time\nprint('working', flush=True)\ntime.sleep(120)\n" }));
    const running = await waitForPhase(ns, "cancel", ["Running"], 60_000);
    await patchRun(ns, "cancel", { cancel: true });
    const run = await waitForPhase(ns, "cancel", ["Canceled"], 30_000);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "Canceled" });
    await waitFor("canceled pods gone", 60_000, async () => (await podsOfRun(ns, running.metadata.uid ?? "")).length === 0);
  });

  it("deletes the Jobs ttlSecondsAfterFinished after the end and keeps the run's status", async () => {
    await apply(scriptRun(ns, "ttl", { "main.py": "print('short run')\n" }, { ttlSecondsAfterFinished: 2 }));
    const done = await waitForPhase(ns, "ttl", ["Completed"]);
    await waitFor("ttl jobs deleted", 60_000, async () => (await jobsOfRun(ns, done.metadata.uid ?? "")).length === 0);
    const run = await getRun(ns, "ttl");
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.outputTail).toContain("short run");
  });

  it("runs nodeCount 2 as an Indexed Job with rank variables", async () => {
    await apply(scriptRun(ns, "indexed", { "main.py": "import os\nprint('rank', os.environ['NODE_RANK'], 'of', os.environ['WORLD_SIZE'])\n" }, {
      runConfigurationRef: undefined, runConfiguration: { computeTargetRef: { name: "local" }, nodeCount: 2 },
    }));
    const run = await waitForPhase(ns, "indexed", ["Completed", "Failed"]);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.outputTail).toContain("rank 0 of 2");
    const job = await kubectlJson<{ spec: { completionMode: string; completions: number } }>(["-n", ns, "get", "job", run.status?.links?.jobName ?? "", "-o", "json"]);
    expect(job.spec).toMatchObject({ completionMode: "Indexed", completions: 2 });
  });

  it("finishes a run after the operator is killed mid-run, with no second Job", async () => {
    await apply(scriptRun(ns, "restart", { "main.py": "import time\nprint('started', flush=True)\ntime.sleep(8)\nprint('finished after restart')\n" }));
    await waitForPhase(ns, "restart", ["Running"], 60_000);
    await stopOperator(op, "SIGKILL");
    op = await startOperator({ WATCH_NAMESPACE: ns });
    const run = await waitForPhase(ns, "restart", ["Completed", "Failed"]);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.outputTail).toContain("finished after restart");
    expect(await jobsOfRun(ns, run.metadata.uid ?? "")).toHaveLength(1);
  });

  it("deleting a running run removes its Jobs and pods", async () => {
    await apply(scriptRun(ns, "deleteme", { "main.py": "import time\nprint('x', flush=True)\ntime.sleep(120)\n" }));
    const run = await waitForPhase(ns, "deleteme", ["Running"], 60_000);
    await kubectl(["-n", ns, "delete", "trainingrun", "deleteme", "--wait=true", "--timeout=60s"]);
    await waitFor("deleted run's pods gone", 60_000, async () => (await podsOfRun(ns, run.metadata.uid ?? "")).length === 0);
    expect(await jobsOfRun(ns, run.metadata.uid ?? "")).toHaveLength(0);
  });

  it("builds a system-managed environment once per hash and reuses it for the next run", async () => {
    const unique = parseInt(randomBytes(3).toString("hex"), 16);
    await apply(runConfiguration(ns, "managed", { environment: { systemManaged: { pipPackages: ["six==1.16.0", `six!=0.0.${unique}`] } } }));
    const main = "import six, sys\nprint('six', six.__version__, 'in', sys.prefix)\n";
    await apply(scriptRun(ns, "env-a", { "main.py": main }, { runConfigurationRef: { name: "managed" } }));
    const a = await waitForPhase(ns, "env-a", ["Completed", "Failed"], 240_000);
    expect(a.status?.phase).toBe("Completed");
    expect(a.status?.outputTail).toContain("six 1.16.0 in /aml/envs/");
    const hash = a.status?.environmentHash ?? "";
    const buildLog = await kubectl(["-n", ns, "logs", `job/aml-env-${hash}`, "-c", "build"]);
    expect(buildLog.stdout).toContain("Successfully installed six");

    await apply(scriptRun(ns, "env-b", { "main.py": main }, { runConfigurationRef: { name: "managed" } }));
    const b = await waitForPhase(ns, "env-b", ["Completed", "Failed"], 120_000);
    expect(b.status?.phase).toBe("Completed");
    expect(b.status?.environmentHash).toBe(hash);
    const buildPods = await kubectlJson<{ items: unknown[] }>(["-n", ns, "get", "pods", "-l", `amlcompute.dev/environment-hash=${hash}`, "-o", "json"]);
    expect(buildPods.items).toHaveLength(1);
  });

  it("reports a DataLakeAnalytics target as retired and fails runs aimed at it fast", async () => {
    await apply({ apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name: "adla", namespace: ns }, spec: { type: "DataLakeAnalytics", dataLakeAnalytics: { accountName: "old" } } });
    const target = await waitFor("adla retired", 30_000, async () => {
      const t = await getTarget(ns, "adla");
      return condition(t, "Ready")?.reason === "TargetRetired" ? t : undefined;
    });
    expect(condition(target, "Ready")).toMatchObject({ status: "False" });
    expect(condition(target, "Ready")?.message).toContain("2024-02-29");
    await apply(scriptRun(ns, "on-adla", { "main.py": "print(1)\n" }, { runConfigurationRef: undefined, runConfiguration: { computeTargetRef: { name: "adla" } } }));
    const run = await waitForPhase(ns, "on-adla", ["Failed"], 30_000);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "TargetRetired" });
  });

  it("reconciles everything again after a restart without writing anything", async () => {
    await stopOperator(op);
    op = await startOperator({ WATCH_NAMESPACE: ns });
    await new Promise((r) => setTimeout(r, 5_000));
    const writes = requestsByMethod(await metricsText(op), ["POST", "PUT", "PATCH", "DELETE"]);
    expect(writes).toBe(0);
    const reads = requestsByMethod(await metricsText(op), ["GET"]);
    expect(reads).toBeGreaterThan(0);
  });
});
