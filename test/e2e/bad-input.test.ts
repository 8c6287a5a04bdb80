// Bad input, end to end: the compiled operator against the real cluster, fed what users get wrong.
// Every case must end in an apply-time rejection or a condition with a reason (never silence, never
// a contradictory state), and the operator must keep serving: a normal run in the same namespace
// succeeds afterwards. The namespace enforces the restricted Pod Security profile, so every pod the
// operator creates here is admitted under it. Cases run concurrently to keep the wall time short.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, kubectl, requireCluster, waitFor } from "../cluster/kubectl.js";
import { startTestSshd, type TestSshd } from "../support/sshd.js";
import { API_VERSION, apply, condition, getRun, getRunConfiguration, getTarget, localTarget, runConfiguration, scriptRun, waitForPhase } from "./support/aml.js";
import { endTest, installCrds, metricsText, type RunningOperator, startOperator } from "./support/operator.js";

/** A pod-based run takes seconds on an idle machine; a shared, loaded one can take minutes to start pods. */
const POD_RUN_MS = 240_000;
const hello = { "main.py": "print('hello from a bad-input neighbour')\n" };
const target = (ns: string, name: string, spec: Record<string, unknown>): object =>
  ({ apiVersion: API_VERSION, kind: "ComputeTarget", metadata: { name, namespace: ns }, spec });

/** Runs every case, then fails once naming each case that failed and why. */
async function allCases(cases: Record<string, () => Promise<void>>): Promise<void> {
  const names = Object.keys(cases);
  const results = await Promise.allSettled(names.map((n) => cases[n]!()));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${names[i]}: ${String(r.reason instanceof Error ? r.reason.message : r.reason)}`] : []));
  expect(failed).toEqual([]);
}

async function waitForReason(what: string, read: () => Promise<{ status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }>, type: string, reason: string, timeoutMs = 60_000) {
  return waitFor(`${what} ${type} reason ${reason}`, timeoutMs, async () => {
    const c = condition(await read(), type);
    return c?.reason === reason ? c : undefined;
  });
}

/** Sum of the operator's TrainingRun reconciles so far. */
async function trainingRunReconciles(op: RunningOperator): Promise<number> {
  return (await metricsText(op)).split("\n")
    .filter((l) => l.startsWith("controller_runtime_reconcile_total{") && l.includes('controller="trainingrun"'))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

describe("bad input: apply-time rejections or clear conditions, and the operator keeps serving", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  let vm: TestSshd | undefined;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    vm = await startTestSshd({ user: "amlbadinput" });
    ns = await createNamespace("e2e-bad");
    await kubectl(["label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/enforce-version=latest"]);
    op = await startOperator({ WATCH_NAMESPACE: ns });
    await apply(localTarget(ns), runConfiguration(ns, "python"));
  });

  afterAll(async () => {
    await endTest(op, ns);
    await vm?.stop();
  });

  it("rejects at apply time what the schema can tell", async () => {
    const rejected = async (obj: object, why: RegExp): Promise<void> => {
      const r = await kubectl(["apply", "-f", "-"], { input: JSON.stringify(obj), allowFail: true });
      expect(r.code, `${JSON.stringify(obj).slice(0, 120)} was accepted`).not.toBe(0);
      expect(r.stderr).toMatch(why);
    };
    await allCases({
      "script ../x.py": () => rejected(scriptRun(ns, "climb", hello, { script: "../x.py" }), /script must be a path inside the source/),
      "script /etc/passwd": () => rejected(scriptRun(ns, "passwd", hello, { script: "/etc/passwd" }), /script must be a path inside the source/),
      "inline path ../a": () => rejected(scriptRun(ns, "inline-climb", { "../a.py": "" }), /path must be relative/),
      "hostPath with ..": () => rejected(target(ns, "dotdot", { type: "Local", local: { environmentCache: { hostPath: "/var/lib/amlcompute/../../etc" } } }), /normalized absolute path/),
      "hostPath and claimName": () => rejected(target(ns, "both", { type: "Local", local: { environmentCache: { hostPath: "/var/lib/amlcompute/x", claimName: "c" } } }), /exactly one of environmentCache/),
      "run name over 253 characters": () => rejected(scriptRun(ns, "r".repeat(254), hello), /must be no more than 253 characters/),
      "backoffLimit -1": () => rejected(scriptRun(ns, "negative", hello, { backoffLimit: -1 }), /backoffLimit/),
      "script and command": () => rejected(scriptRun(ns, "both-argv", hello, { command: ["python3", "-c", "1"] }), /exactly one of script, command/),
    });
  });

  it("ends every other case in a condition with a reason, concurrently", async () => {
    const secretName = "vm-key-late";
    await allCases({
      // Defect: a 64+ character name used to make the Job invalid; child names and labels now always fit.
      "run name of 70 characters": async () => {
        const name = `long-${"n".repeat(65)}`;
        await apply(scriptRun(ns, name, hello));
        const run = await waitForPhase(ns, name, ["Completed", "Failed"], POD_RUN_MS);
        expect(condition(run, "Succeeded")).toMatchObject({ status: "True", reason: "Completed" });
      },
      "environment variable named A=B": async () => {
        await apply(scriptRun(ns, "bad-env", hello, { runConfigurationRef: undefined, runConfiguration: { computeTargetRef: { name: "local" }, environmentVariables: { "A=B": "1" } } }));
        const run = await waitForPhase(ns, "bad-env", ["Failed"], 60_000);
        expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "InvalidSpec", message: expect.stringContaining('"A=B"') });
        expect(run.status?.completionTime).toBeDefined();
      },
      "RunConfiguration with an empty environment variable name": async () => {
        await apply(runConfiguration(ns, "empty-env", { environmentVariables: { "": "x" } }));
        await waitForReason("RunConfiguration empty-env", () => getRunConfiguration(ns, "empty-env"), "Ready", "InvalidSpec");
      },
      "ttlSecondsAfterFinished 2592000 (30 days)": async () => {
        await apply(scriptRun(ns, "long-ttl", hello, { ttlSecondsAfterFinished: 2_592_000 }));
        const run = await waitForPhase(ns, "long-ttl", ["Completed", "Failed"], POD_RUN_MS);
        expect(run.status?.phase).toBe("Completed");
      },
      "inline files a and a/b": async () => {
        await apply(scriptRun(ns, "file-and-dir", { "main.py": "print(1)\n", a: "x", "a/b": "y" }));
        const run = await waitForPhase(ns, "file-and-dir", ["Failed"], 60_000);
        expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "SnapshotInvalid", message: expect.stringContaining('"a" is both a file and the directory of "a/b"') });
      },
      "a path segment over 255 characters": async () => {
        await apply(scriptRun(ns, "long-segment", { "main.py": "print(1)\n", [`${"s".repeat(300)}.py`]: "" }));
        const run = await waitForPhase(ns, "long-segment", ["Failed"], 60_000);
        expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "SnapshotInvalid", message: expect.stringContaining("longer than 255 bytes") });
      },
      "late source ConfigMap": async () => {
        await apply(scriptRun(ns, "late-cm", {}, { source: { configMap: { name: "late-code" } } }));
        await waitForReason("run late-cm", () => getRun(ns, "late-cm"), "Succeeded", "SourceNotFound");
        await kubectl(["-n", ns, "create", "configmap", "late-code", "--from-literal=main.py=print('late code ran')"]);
        const run = await waitForPhase(ns, "late-cm", ["Completed", "Failed"], POD_RUN_MS);
        expect(run.status?.outputTail).toContain("late code ran");
      },
      // The target's only way out of SecretNotFound (no polling) is the watch on the Secrets it names.
      "late SSH credentials Secret": async () => {
        await apply(target(ns, "vm", {
          type: "RemoteVM",
          remoteVM: { address: vm!.host, port: vm!.port, username: vm!.user, credentialsSecretRef: { name: secretName }, hostKey: { fingerprint: vm!.fingerprint } },
        }));
        await waitForReason("target vm", () => getTarget(ns, "vm"), "Ready", "SecretNotFound");
        await kubectl(["-n", ns, "create", "secret", "generic", secretName, `--from-literal=privateKey=${vm!.privateKey}`]);
        const ready = await waitForReason("target vm", () => getTarget(ns, "vm"), "Ready", "Ready", 60_000);
        expect(ready.status).toBe("True");
      },
      "hostPath outside the allow-list": async () => {
        await apply(target(ns, "etc-cache", { type: "Local", local: { environmentCache: { hostPath: "/etc" } } }));
        const c = await waitForReason("target etc-cache", () => getTarget(ns, "etc-cache"), "Ready", "HostPathNotAllowed");
        expect(c).toMatchObject({ status: "False", message: expect.stringContaining("/etc is not under an allowed prefix") });
      },
      "system-managed environment on a target without a cache": async () => {
        await apply(runConfiguration(ns, "managed", { environment: { systemManaged: { pipPackages: ["six"] } } }));
        const c = await waitForReason("RunConfiguration managed", () => getRunConfiguration(ns, "managed"), "Ready", "UnsupportedOnTarget");
        expect(c.message).toContain("environmentCache");
      },
      "unsatisfiable nodeSelector": async () => {
        await apply(localTarget(ns, "picky", { nodeSelector: { "amlcompute.dev/no-such-node": "x" } }));
        await apply(scriptRun(ns, "picky", hello, { runConfigurationRef: undefined, runConfiguration: { computeTargetRef: { name: "picky" }, schedulingTimeoutSeconds: 20 } }));
        const waiting = await waitForReason("run picky", () => getRun(ns, "picky"), "Succeeded", "Starting");
        await waitFor("the scheduler's words in the waiting run's condition", 30_000, async () =>
          /has not started: .*(node affinity\/selector|FailedScheduling)/.test(condition(await getRun(ns, "picky"), "Succeeded")?.message ?? ""));
        expect(waiting.status).toBe("Unknown");
        const run = await waitForPhase(ns, "picky", ["Failed"], 150_000);
        expect(condition(run, "Succeeded")).toMatchObject({ reason: "Unschedulable", message: expect.stringContaining("not scheduled within 20s") });
      },
      "unsatisfiable GPU request": async () => {
        await apply(scriptRun(ns, "gpu", hello, { runConfigurationRef: undefined, runConfiguration: { computeTargetRef: { name: "local" }, resources: { gpu: 1 }, schedulingTimeoutSeconds: 20 } }));
        const run = await waitForPhase(ns, "gpu", ["Failed"], 150_000);
        expect(condition(run, "Succeeded")).toMatchObject({ reason: "Unschedulable", message: expect.stringContaining("nvidia.com/gpu") });
      },
      "missing PriorityClass": async () => {
        await apply(localTarget(ns, "prio", { priorityClassName: "aml-no-such-priority-class" }));
        await apply(scriptRun(ns, "prio", hello, { runConfigurationRef: undefined, runConfiguration: { computeTargetRef: { name: "prio" }, schedulingTimeoutSeconds: 20 } }));
        await waitFor("the Job's FailedCreate in the waiting run's condition", 60_000, async () =>
          /has not started: FailedCreate: .*aml-no-such-priority-class/.test(condition(await getRun(ns, "prio"), "Succeeded")?.message ?? ""));
        const run = await waitForPhase(ns, "prio", ["Failed"], 150_000);
        expect(condition(run, "Succeeded")).toMatchObject({ reason: "CannotStart", message: expect.stringContaining("aml-no-such-priority-class") });
      },
      // The run froze its configuration and its Job belongs to it: it is followed to its real end.
      "ComputeTarget deleted mid-run": async () => {
        await apply(localTarget(ns, "doomed"));
        await apply(scriptRun(ns, "orphan", { "main.py": "import time\nprint('started', flush=True)\ntime.sleep(10)\nprint('finished without a target')\n" }, {
          runConfigurationRef: undefined, runConfiguration: { computeTargetRef: { name: "doomed" } },
        }));
        await waitForPhase(ns, "orphan", ["Running"], POD_RUN_MS);
        await kubectl(["-n", ns, "delete", "computetarget", "doomed", "--wait=true", "--timeout=60s"]);
        const run = await waitForPhase(ns, "orphan", ["Completed", "Failed"], POD_RUN_MS);
        expect(condition(run, "Succeeded")).toMatchObject({ status: "True", reason: "Completed" });
        expect(run.status?.outputTail).toContain("finished without a target");
      },
    });
  }, 2 * POD_RUN_MS);

  it("still serves a normal run afterwards (in a namespace enforcing the restricted profile), without a hot loop", async () => {
    await apply(scriptRun(ns, "neighbour", hello));
    const run = await waitForPhase(ns, "neighbour", ["Completed", "Failed"], POD_RUN_MS);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.outputTail).toContain("hello from a bad-input neighbour");
    // Every run here has finished or waits on a bound: none may reconcile in a tight loop (a TTL
    // beyond setTimeout's range once made one finished run reconcile hundreds of times a second).
    const before = await trainingRunReconciles(op!);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await trainingRunReconciles(op!) - before).toBeLessThan(30);
  }, 2 * POD_RUN_MS);
});
