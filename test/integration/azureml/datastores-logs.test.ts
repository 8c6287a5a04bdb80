import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../../src/api/v1alpha1/index.js";
import type { AmlHandle } from "../../../src/providers/azureml/executor.js";
import type { Attempt, RunObservation } from "../../../src/providers/types.js";
import { storedAttempt } from "../../support/executor-harness.js";
import { makeRun, makeTarget, reconcileUntil, sleep, startEnv, WS, type Env } from "./harness.js";

// Command jobs against workspaces whose datastores authenticate the three ways Azure ML allows
// (stored account key, stored SAS, identity-based), and the logs real jobs write: std_log.txt, or
// one std_log_process_NN.txt per process for distributed jobs. The emulator reports no exit code
// and adds nothing to the user's log, as Azure ML does not.
const CONFIG: RunConfigurationSpec = { computeTargetRef: { name: "cpu" }, framework: "Python", nodeCount: 1, processCountPerNode: 1 } as RunConfigurationSpec;

async function readyTarget(env: Env): Promise<ComputeTarget> {
  return (await reconcileUntil(env, env.provider(), makeTarget("cpu"), { until: (o) => o.ready.status === "True" })).target;
}

/** The attempt with its snapshot in the run store, as the controller hands it to submit. */
async function attempt(env: Env, target: ComputeTarget, run: TrainingRun, files: Record<string, string>, argv: string[], config: Partial<RunConfigurationSpec> = {}): Promise<Attempt<AmlHandle>> {
  const cfg = { ...CONFIG, ...config } as RunConfigurationSpec;
  const a: Attempt<AmlHandle> = {
    run, target, config: cfg, number: 1, handle: undefined, runId: `exp_${run.metadata.uid!.slice(0, 8)}`, interpreterNeeded: true,
    snapshot: { digest: "", files: [], totalBytes: 0 },
    environmentHash: `sha256:${createHash("sha256").update("env").digest("hex")}`, argv,
  };
  return await storedAttempt(a, env.store!, files) as Attempt<AmlHandle>;
}

async function runToEnd(env: Env, pending: Promise<Attempt<AmlHandle>>): Promise<{ handle: AmlHandle; last: RunObservation }> {
  const a = await pending;
  const p = env.provider();
  const handle = await p.executor.submit(a, env.ctx());
  const deadline = Date.now() + 30_000;
  for (;;) {
    const o = await p.executor.observe({ ...a, handle }, env.ctx());
    if (o.state === "Succeeded" || o.state === "Failed" || o.state === "Lost") return { handle, last: o };
    if (Date.now() > deadline) throw new Error(`run did not finish: ${JSON.stringify(o)}`);
    await sleep(o.pollAfterMs ?? 200);
  }
}

describe("a workspace whose default datastore stores a SAS token", () => {
  let env: Env;
  let target: ComputeTarget;
  beforeAll(async () => {
    env = await startEnv({ withAzurite: true, datastoreCredentials: "Sas", provisioningMs: 300, jobStepMs: 50 });
    target = await readyTarget(env);
  });
  afterAll(async () => { await env?.close(); });

  it("uploads with the SAS but names the code by its plain storage URL (no token in the asset)", async () => {
    const { handle, last } = await runToEnd(env, attempt(env, target, makeRun("sas-run"), { "train.py": "print('trained with a SAS datastore')\n" }, ["train.py"]));
    expect(last).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect(last.outputTail).toContain("trained with a SAS datastore");
    const uri = env.emu.controls.codeVersion(WS, handle.codeId!)?.codeUri ?? "";
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/azureml-blobstore-[^/?]+\/LocalUpload\/[0-9a-f]{64}$/);
    expect(uri).not.toContain("sig=");
  });

  it("reads exit codes from the log's last line: Azure ML reports none, and the emulator adds no line of its own", async () => {
    const { handle, last } = await runToEnd(env, attempt(env, target, makeRun("exit-three"), { "fail.py": "import sys\nprint('going down')\nsys.exit(3)\n" }, ["fail.py"]));
    expect(last).toMatchObject({ state: "Failed", reason: "ScriptFailed", exitCode: 3 });
    expect(last.outputTail).toContain("going down");
    expect(last.outputTail).not.toContain("[amlcompute] exit code");
    const job = env.emu.controls.job(WS, handle.jobName)!;
    expect(job.output).not.toMatch(/exited with status code/);
  });

  it("tails rank 0's std_log_process_00.txt for a distributed (PyTorch) job, which writes no std_log.txt", async () => {
    const files = { "ddp.py": "import os\nprint('rank', os.environ['RANK'], 'of', os.environ['WORLD_SIZE'])\n" };
    const { handle, last } = await runToEnd(env, attempt(env, target, makeRun("ddp-run"), files, ["ddp.py"], { framework: "PyTorch", processCountPerNode: 2 }));
    expect(last).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect(last.outputTail).toContain("rank 0 of 2");
    expect(last.outputTail).not.toContain("rank 1 of 2");
    expect(env.emu.controls.job(WS, handle.jobName)!.outputs).toHaveLength(2);
  });
});

describe("a workspace whose datastores are identity-based (no stored credential)", () => {
  let env: Env;
  let target: ComputeTarget;
  beforeAll(async () => {
    env = await startEnv({ azuriteTls: true, datastoreCredentials: "None", provisioningMs: 300, jobStepMs: 50 });
    target = await readyTarget(env);
  });
  afterAll(async () => { await env?.close(); });

  it("uploads the snapshot and reads the log with the caller's own Entra identity, never asking for secrets", async () => {
    const { last } = await runToEnd(env, attempt(env, target, makeRun("id-run"), { "train.py": "print('identity-based datastore ok')\n" }, ["train.py"]));
    expect(last).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect(last.outputTail).toContain("identity-based datastore ok");
    expect(env.emu.controls.count({ method: "POST", path: /listSecrets$/ })).toBe(0);
  });
});

