import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../../src/api/v1alpha1/index.js";
import type { RunObservation, Attempt } from "../../../src/providers/types.js";
import type { AmlHandle } from "../../../src/providers/azureml/executor.js";
import { TransientError } from "../../../src/runtime/errors.js";
import { storedAttempt } from "../../support/executor-harness.js";
import { makeRun, makeTarget, reconcileUntil, sleep, startEnv, WS, type Env } from "./harness.js";

const CONFIG: RunConfigurationSpec = {
  computeTargetRef: { name: "cpu" },
  framework: "Python",
  nodeCount: 1,
  processCountPerNode: 1,
  environment: { systemManaged: { pythonVersion: "3.11", pipPackages: ["numpy==2.1.0"] } },
  environmentVariables: { GREETING: "hello from the run configuration" },
} as RunConfigurationSpec;

describe("AmlCompute RunExecutor: command jobs that really run (emulator + Azurite)", () => {
  let env: Env;
  let target: ComputeTarget;
  beforeAll(async () => {
    env = await startEnv({ withAzurite: true, provisioningMs: 600, jobStepMs: 100 });
    const p = env.provider();
    ({ target } = await reconcileUntil(env, p, makeTarget("cpu"), { until: (o) => o.ready.status === "True" }));
  });
  afterAll(async () => {
    await env?.close();
  });

  /** The attempt as the controller hands it to submit: its snapshot in the run store, its storage. */
  const sub = async (run: TrainingRun, files: Record<string, string>, argv: string[], attempt = 1): Promise<Attempt<AmlHandle>> => await storedAttempt({
    run, target, config: CONFIG, number: attempt, handle: undefined, runId: `exp_${run.metadata.uid!.slice(0, 8)}`,
    interpreterNeeded: argv[0]?.endsWith(".py") ?? false, snapshot: { digest: "", files: [], totalBytes: 0 },
    environmentHash: "sha256:" + createHash("sha256").update(JSON.stringify(CONFIG.environment)).digest("hex"), argv,
  }, env.store!, files) as Attempt<AmlHandle>;

  async function observeUntilDone(s: Attempt<AmlHandle>, handle: AmlHandle, timeoutMs = 30_000): Promise<{ last: RunObservation; states: string[] }> {
    const p = env.provider();
    const states: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const o = await p.executor.observe({ ...s, handle: handle }, env.ctx());
      if (states.at(-1) !== o.state) states.push(o.state);
      if (o.state === "Succeeded" || o.state === "Failed" || o.state === "Lost") return { last: o, states };
      if (Date.now() > deadline) throw new Error(`run did not finish: ${JSON.stringify(o)}`);
      await sleep(o.pollAfterMs ?? 200);
    }
  }

  it("runs train.py from the uploaded snapshot: real output, exit code 0, links", async () => {
    const p = env.provider();
    const run = makeRun("train-ok");
    const files = {
      "train.py": "import os, sys\nfrom lib.util import double\nprint('epoch 1 loss', double(0.25))\nprint(os.environ['GREETING'])\nprint('args', sys.argv[1:])\n",
      "lib/__init__.py": "",
      "lib/util.py": "def double(x):\n    return x * 2\n",
    };
    const s = await sub(run, files, ["train.py", "--lr", "0.1", "it's quoted"]);
    const handle = await p.executor.submit(s, env.ctx());
    expect(handle).toMatchObject({ jobName: expect.stringMatching(/^train-ok-[0-9a-f]{12}-a1$/), computeName: "cpu" });
    // A repeated submit (operator restarted before persisting the handle) creates nothing new.
    const again = await env.provider().executor.submit(s, env.ctx());
    expect(again.jobName).toBe(handle.jobName);
    expect(env.emu.controls.count({ method: "PUT", path: `/jobs/${String(handle.jobName)}` })).toBe(1);

    const { last, states } = await observeUntilDone(s, handle);
    expect(last.state).toBe("Succeeded");
    expect(last.exitCode).toBe(0);
    expect(last.outputTail).toContain("epoch 1 loss 0.5");
    expect(last.outputTail).toContain("hello from the run configuration");
    expect(last.outputTail).toContain("args ['--lr', '0.1', \"it's quoted\"]");
    expect(last.links?.azureJobName).toBe(handle.jobName);
    expect(last.links?.studioUrl).toMatch(/^https:\/\/ml\.azure\.com\/runs\/train-ok-/);
    expect(last.links?.computeName).toBe("cpu");
    expect(last.pollAfterMs).toBeUndefined();
    expect(states[0]).not.toBe("Succeeded");
    expect(env.emu.controls.job(WS, String(handle.jobName))?.history).toEqual(
      ["NotStarted", "Queued", "Preparing", "Starting", "Running", "Finalizing", "Completed"]);
  });

  it("sends a PyTorch 2 × 2 configuration as distribution + instanceCount, and the job runs", async () => {
    const p = env.provider();
    const run = makeRun("train-ddp");
    const s = { ...await sub(run, { "train.py": "print('distributed ok')\n" }, ["train.py"]), config: { ...CONFIG, framework: "PyTorch" as const, nodeCount: 2, processCountPerNode: 2 } };
    const handle = await p.executor.submit(s, env.ctx());
    const sent = env.emu.controls.job(WS, String(handle.jobName))?.body as { properties: Record<string, unknown> };
    expect(sent.properties).toMatchObject({ resources: { instanceCount: 2 }, distribution: { distributionType: "PyTorch", processCountPerInstance: 2 } });
    expect((await observeUntilDone(s, handle)).last.state).toBe("Succeeded");
  });

  it("a script that exits 3 fails with exit code 3 and its output; the unchanged snapshot is not uploaded again", async () => {
    const p = env.provider();
    const files = { "train.py": "import sys\nprint('about to fail', flush=True)\nsys.stderr.write('boom\\n')\nsys.exit(3)\n" };
    const run1 = makeRun("train-fail");
    const s1 = await sub(run1, files, ["train.py"]);
    const h1 = await p.executor.submit(s1, env.ctx());
    const { last } = await observeUntilDone(s1, h1);
    expect(last.state).toBe("Failed");
    expect(last.exitCode).toBe(3);
    expect(last.reason).toBe("ScriptFailed");
    expect(last.outputTail).toContain("about to fail");
    expect(last.outputTail).toContain("boom");

    // Same snapshot digest → the code version is reused (GET 200, no PUT).
    const codePuts = env.emu.controls.count({ method: "PUT", path: "/codes/" });
    const s2 = await sub(makeRun("train-fail-2"), files, ["train.py"]);
    await p.executor.submit(s2, env.ctx());
    expect(env.emu.controls.count({ method: "PUT", path: "/codes/" })).toBe(codePuts);
  });

  it("cancel → Azure job canceled, the process is killed", async () => {
    const p = env.provider();
    const run = makeRun("train-long");
    const s = await sub(run, { "train.py": "import time\nprint('started', flush=True)\ntime.sleep(60)\n" }, ["train.py"]);
    const h = await p.executor.submit(s, env.ctx());
    for (let i = 0; i < 100; i++) {
      const o = await p.executor.observe({ ...s, handle: h }, env.ctx());
      if (o.state === "Running") break;
      await sleep(100);
    }
    await p.executor.cancel({ ...s, handle: h }, env.ctx());
    await p.executor.cancel({ ...s, handle: h }, env.ctx()); // idempotent
    expect(env.emu.controls.count({ method: "POST", path: `/jobs/${String(h.jobName)}/cancel` })).toBe(1);
    const { last } = await observeUntilDone(s, h, 15_000);
    expect(last).toMatchObject({ state: "Failed", reason: "Canceled" });
  });

  it("run-based compute: created for the run, deleted after it ends (also when the run fails)", async () => {
    for (const [name, code, want] of [["rb-ok", 0, "Succeeded"], ["rb-fail", 5, "Failed"]] as const) {
      const p = env.provider();
      const run = makeRun(name, { runBasedCompute: { vmSize: "STANDARD_DS3_V2", maxNodes: 1, vmPriority: "Dedicated" } });
      const s = await sub(run, { "train.py": `import sys\nprint('run-based')\nsys.exit(${code})\n` }, ["train.py"]);
      const h = await p.executor.submit(s, env.ctx());
      const computeName = String(h.computeName);
      expect(computeName).toMatch(/^rb-[a-z]{16}$/);
      expect(env.emu.controls.compute(WS, computeName)).toBeDefined();
      const { last } = await observeUntilDone(s, h);
      expect(last.state).toBe(want);
      expect(last.links?.computeName).toBe(computeName);
      // observe only looks; release, once the run has finished, sends the compute's DELETE (no TTL needed).
      expect(env.emu.controls.count({ method: "DELETE", path: new RegExp(`/computes/${computeName}$`) })).toBe(0);
      const finished = { ...run, status: { phase: want === "Succeeded" ? "Completed" as const : "Failed" as const } };
      await p.executor.release({ ...s, run: finished, handle: h }, env.ctx());
      expect(env.emu.controls.count({ method: "DELETE", path: new RegExp(`/computes/${computeName}$`) })).toBe(1);

      // Run over: cleanup until the compute is gone; a restarted operator (new provider) continues.
      let rounds = 0;
      for (;;) {
        rounds++;
        try {
          await env.provider().executor.cleanup({ ...s, handle: h }, env.ctx());
          break;
        } catch (e) {
          expect(e).toBeInstanceOf(TransientError);
          await sleep(150);
        }
        if (rounds > 100) throw new Error("run-based compute not deleted");
      }
      expect(env.emu.controls.compute(WS, computeName)).toBeUndefined();
      const deletes = env.emu.controls.requests.filter((r) => r.method === "DELETE" && r.path.endsWith(`/computes/${computeName}`));
      expect(deletes.map((d) => d.query.underlyingResourceAction)).toEqual(["Delete"]);
      expect(env.emu.controls.count({ method: "PUT", path: new RegExp(`/computes/${computeName}$`) })).toBe(1);
    }
  });
});
