import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import type { AzureMlConfig } from "../../../src/providers/azureml/index.js";
import { createAzureBatchProvider, type BatchHandle } from "../../../src/providers/batch/index.js";
import type { ProviderContext, RunObservation, Attempt } from "../../../src/providers/types.js";
import { anAttempt, CHECKPOINT_THEN_SLEEP, ended, expectTreeKept, observeUntil, outputsSynced, storedAttempt, treeRoundTrip } from "../../support/executor-harness.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { storeOnAzurite } from "../data-plane/support.js";
import { batchService, type BatchEmulator } from "../../azure-emulator/batch.js";
import { startAzurite, startEmulator, type Azurite, type Emulator } from "../../azure-emulator/index.js";

// The AzureBatch provider against the emulator: ARM (account, pool, auto-storage keys) with Entra
// tokens, the run store in Azurite (the task's runner fetches the snapshot through SAS URLs), a
// Batch job + task that really runs, stdout and exit codes from the Batch data plane.
const NS = "team-batch";
const ACCOUNT = { subscriptionId: "22222222-0000-0000-0000-000000000002", resourceGroup: "rg-batch", name: "amlbatch", pools: [{ id: "cpu-pool", vmSize: "STANDARD_D2S_V3", nodes: 2 }] };
let emu: Emulator;
let azurite: Azurite;
let batch: BatchEmulator;
let config: AzureMlConfig;
let entry: ReturnType<typeof createAzureBatchProvider>;
let store: BlobStore;
const secrets = new Map<string, Record<string, string>>();
const ctx = (): ProviderContext => ({
  kube: undefined as never, log: pino({ level: "silent" }), now: new Date(), signal: new AbortController().signal,
  readSecret: async (ns, name) => secrets.get(`${ns}/${name}`),
});

beforeAll(async () => {
  azurite = await startAzurite();
  ({ store } = await storeOnAzurite(azurite));
  batch = batchService({ accounts: [ACCOUNT, { ...ACCOUNT, name: "nostorage", noAutoStorage: true }], stepMs: 50 });
  emu = await startEmulator({
    services: [batch],
    azurite: { blobEndpoint: azurite.blobEndpoint, accountName: azurite.accountName, accountKey: azurite.accountKey },
  });
  const client = emu.clients[0]!;
  secrets.set(`${NS}/aml-azure-credentials`, { AZURE_TENANT_ID: emu.tenantId, AZURE_CLIENT_ID: client.clientId, AZURE_CLIENT_SECRET: client.clientSecret });
  secrets.set(`${NS}/bad-credentials`, { AZURE_TENANT_ID: emu.tenantId, AZURE_CLIENT_ID: client.clientId, AZURE_CLIENT_SECRET: "not-the-secret" });
  config = {
    armEndpoint: emu.url, authorityHost: emu.url, disableInstanceDiscovery: true, caBundlePath: emu.caPath,
    // The blob endpoint comes from the storage account itself; a template pointing nowhere proves it is not built from one.
    blobEndpointTemplate: "http://127.0.0.1:1/{account}", requestBudget: { perSecond: 50, burst: 100 },
  };
  entry = createAzureBatchProvider(config, { taskPollMs: 100 });
});
afterAll(async () => {
  expect(emu?.controls.contractViolations ?? []).toEqual([]);
  await emu?.close();
  await azurite?.close();
});

function target(extra: Partial<NonNullable<ComputeTarget["spec"]["azureBatch"]>> = {}, spec: Partial<ComputeTarget["spec"]> = {}): ComputeTarget {
  return {
    apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget",
    metadata: { name: "batch", namespace: NS, uid: randomUUID(), generation: 1 },
    spec: {
      type: "AzureBatch", deletionPolicy: "Delete",
      azureBatch: { subscriptionId: ACCOUNT.subscriptionId, resourceGroup: ACCOUNT.resourceGroup, accountName: ACCOUNT.name, ...extra },
      ...spec,
    },
  } as ComputeTarget;
}

const submission = (t: ComputeTarget, files: Record<string, string>, argv: string[], attempt = 1): Promise<Attempt> =>
  storedAttempt(anAttempt({ target: t, files, argv, attempt, config: { framework: "Python", environmentVariables: { GREETING: "hello batch" } } }), store, files);
const until = (sub: Attempt, handle: unknown, done: (o: RunObservation) => boolean, timeoutMs?: number): Promise<RunObservation> =>
  observeUntil({ executor: entry.executor!, ctx, sub, handle }, done, timeoutMs);

describe("AzureBatch attach", () => {
  it("is Ready when ARM shows the account and the named pool", async () => {
    const obs = await entry.compute.ensure(target({ poolId: "cpu-pool" }), ctx());
    expect(obs.ready).toMatchObject({ status: "True", reason: "Attached" });
    expect(obs.ready.message).toContain("pool cpu-pool");
    expect(obs.status).toMatchObject({ provisioningState: "Succeeded", nodes: { current: 2, target: 2 } });
    expect(obs.status?.resourceId).toMatch(/Microsoft\.Batch\/batchAccounts\/amlbatch$/);
  });

  it("reports a missing account or pool as ComputeNotFound and an account without auto-storage as InvalidSpec", async () => {
    expect((await entry.compute.ensure(target({ accountName: "nosuchaccount" }), ctx())).ready).toMatchObject({ status: "False", reason: "ComputeNotFound" });
    expect((await entry.compute.ensure(target({ poolId: "gpu-pool" }), ctx())).ready).toMatchObject({ status: "False", reason: "ComputeNotFound" });
    expect((await entry.compute.ensure(target({ accountName: "nostorage" }), ctx())).ready).toMatchObject({ status: "False", reason: "InvalidSpec" });
  });

  it("reports bad credentials as AuthenticationFailed and a missing Secret as SecretNotFound", async () => {
    const bad = await entry.compute.ensure(target({}, { credentialsSecretRef: { name: "bad-credentials" } }), ctx());
    expect(bad.ready).toMatchObject({ status: "False", reason: "AuthenticationFailed", severity: "Error" });
    expect(bad.ready.message).not.toContain("not-the-secret");
    const missing = await entry.compute.ensure(target({}, { credentialsSecretRef: { name: "nope" } }), ctx());
    expect(missing.ready).toMatchObject({ status: "False", reason: "SecretNotFound" });
  });
});

describe("AzureBatch runs", () => {
  it("runs the nested tree exactly as submitted (digest checked in its working directory) and keeps outputs byte-exact", async () => {
    const sub = await submission(target(), { "placeholder.py": "" }, ["train.py"]);
    expectTreeKept(await treeRoundTrip({ executor: entry.executor!, ctx, sub, store }));
  });

  it("runs the snapshot as a job + task on an auto-pool with real output and exit code 0; resubmit adds nothing", async () => {
    const t = target();
    const sub = await submission(t, {
      "train.py": "import os, sys\nfrom lib.helper import twice\nprint('loss', twice(0.25), os.environ['GREETING'], sys.argv[1:], os.environ['AZ_BATCH_TASK_ID'])\n",
      "lib/__init__.py": "",
      "lib/helper.py": "def twice(x):\n    return x * 2\n",
    }, ["train.py", "--lr", "it's 0.1"]);
    const h = await entry.executor!.submit(sub, ctx()) as BatchHandle;
    const adds = emu.controls.count({ method: "POST", path: /\/tasks$/ });
    await entry.executor!.submit(sub, ctx());
    expect(emu.controls.count({ method: "POST", path: /\/tasks$/ })).toBe(adds); // found the task: nothing added again
    expect(batch.jobIds(ACCOUNT.name).filter((id) => id === h.jobId)).toHaveLength(1);
    const o = await until(sub, h, ended);
    expect(o).toMatchObject({ state: "Succeeded", exitCode: 0, links: { batchJobId: h.jobId, batchTaskId: "main" } });
    expect(o.handle).toBeUndefined(); // observe only looks: the job is still there until release
    expect(o.outputTail).toContain("loss 0.5 hello batch ['--lr', \"it's 0.1\"] main");
    expect(batch.task(ACCOUNT.name, h.jobId, "main")!.history).toEqual(["active", "preparing", "running", "completed"]);
    expect(batch.job(ACCOUNT.name, h.jobId)?.state).not.toBe("completed");
    expect(await entry.executor!.release!({ ...sub, handle: h }, ctx())).toEqual({ done: true });
    expect(batch.job(ACCOUNT.name, h.jobId)).toMatchObject({ state: "completed", body: { poolInfo: { autoPoolSpecification: { poolLifetimeOption: "job" } } } });
    expect(JSON.stringify(o)).not.toContain("sig=");
    await entry.executor!.cleanup({ ...sub, target: t, handle: h }, ctx());
    expect(batch.job(ACCOUNT.name, h.jobId)).toBeUndefined();
  });

  it("nodeCount > 1 is one multi-instance task on an auto-pool; every node gets the snapshot in the shared directory", async () => {
    const files = { "hosts.py": "import os\nprint('hosts', os.environ['AZ_BATCH_HOST_LIST'])\nprint('cwd', os.getcwd())\n", "lib/model.bin": "\u0000weights" };
    const sub = await storedAttempt(anAttempt({ target: target(), files, argv: ["hosts.py"], config: { framework: "MPI", nodeCount: 3, processCountPerNode: 1 } }), store, files);
    const h = await entry.executor!.submit(sub, ctx()) as BatchHandle;
    const o = await until(sub, h, ended);
    expect(o).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect(o.outputTail).toMatch(/hosts \S+,\S+,\S+/);
    const task = batch.task(ACCOUNT.name, h.jobId, "main")!;
    expect(task.body).toMatchObject({ multiInstanceSettings: { numberOfInstances: 3 } });
    expect((task.body.multiInstanceSettings as { commonResourceFiles: unknown[] }).commonResourceFiles).toHaveLength(1);
    // The coordination command materialized the same verified tree on each of the three nodes, in
    // the shared directory; the primary ran the script there.
    expect(task.instanceDirs).toHaveLength(3);
    for (const dir of task.instanceDirs!) {
      expect(readFileSync(join(dir, "shared/src/lib/model.bin"), "utf8")).toBe("\u0000weights");
      expect(readdirSync(join(dir, "shared/src")).sort()).toEqual(["hosts.py", "lib"]);
    }
    expect(o.outputTail).toContain(`cwd ${join(task.instanceDirs![0]!, "shared/src")}`);
    expect(batch.job(ACCOUNT.name, h.jobId)!.body).toMatchObject({ poolInfo: { autoPoolSpecification: { pool: { targetDedicatedNodes: 3, enableInterNodeCommunication: true } } } });
  });

  it("reports a failing script with exit code 3, stdout and stderr", async () => {
    const sub = await submission(target({ poolId: "cpu-pool" }), { "fail.py": "import sys\nprint('about to fail')\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n" }, ["fail.py"]);
    const h = await entry.executor!.submit(sub, ctx());
    const o = await until(sub, h, ended);
    expect(o).toMatchObject({ state: "Failed", reason: "ScriptFailed", exitCode: 3 });
    expect(o.outputTail).toContain("about to fail");
    expect(o.outputTail).toContain("bad input");
    expect(o.message).toContain("FailureExitCode");
  });

  it("cancel terminates the running task and the job; what ./outputs held is kept (the runner's periodic upload)", async () => {
    const sub = await submission(target(), { "slow.py": CHECKPOINT_THEN_SLEEP }, ["slow.py"]);
    const h = await entry.executor!.submit(sub, ctx()) as BatchHandle;
    await until(sub, h, (o) => o.state === "Running" && (o.outputTail ?? "").includes("started"));
    const result = await outputsSynced(store, sub);
    await entry.executor!.cancel({ ...sub, handle: h }, ctx());
    const o = await until(sub, h, ended, 10_000);
    expect(o).toMatchObject({ state: "Failed", reason: "Canceled" });
    expect(o.outputTail).toContain("started");
    expect(await result()).toMatchObject({ provisional: true, outputs: { files: 1, bytes: "epoch 1".length } });
    expect(batch.job(ACCOUNT.name, h.jobId)?.state).toBe("completed");
    await entry.executor!.cancel({ ...sub, handle: h }, ctx()); // idempotent
  });

  it("an unknown job is Lost; bad credentials fail submit as a terminal AuthenticationFailed", async () => {
    const sub = await submission(target(), { "a.py": "print(1)\n" }, ["a.py"]);
    const ep = `${new URL(emu.url).host}/batch/${ACCOUNT.name}`;
    expect(await entry.executor!.observe({ ...sub, handle: { jobId: "aml-gone", taskId: "main", accountEndpoint: ep } }, ctx())).toMatchObject({ state: "Lost" });
    const bad = await submission(target({}, { credentialsSecretRef: { name: "bad-credentials" } }), { "a.py": "print(1)\n" }, ["a.py"]);
    await expect(entry.executor!.submit(bad, ctx())).rejects.toMatchObject({ name: "TerminalError", reason: "AuthenticationFailed" });
  });
});
