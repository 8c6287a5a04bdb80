import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import { createDatabricksProvider } from "../../../src/providers/databricks/index.js";
import type { DatabricksHandle } from "../../../src/providers/databricks/index.js";
import type { ProviderContext, RunObservation, Attempt } from "../../../src/providers/types.js";
import { anAttempt, CHECKPOINT_THEN_SLEEP, ended, expectTreeKept, observeUntil, outputsSynced, storedAttempt, treeRoundTrip } from "../../support/executor-harness.js";
import type { Azurite } from "../../azure-emulator/azurite.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { storeOnAzurite } from "../data-plane/support.js";
import { TransientError } from "../../../src/runtime/errors.js";
import { databricksService, type DatabricksEmulator } from "../../azure-emulator/databricks.js";
import { startEmulator, type Emulator } from "../../azure-emulator/index.js";
import { AzureClients } from "../../../src/providers/shared/azure/clients.js";
import { resolveConfig } from "../../../src/providers/shared/azure/config.js";

// The Databricks provider against the emulator's workspace REST: the token really authenticates,
// runs/submit really runs the uploaded python file (the data-plane runner, which fetches the
// snapshot from the run store on Azurite with SAS URLs kept in a secret scope), states/outputs
// come from the Jobs API.
const NS = "team-dbx";
const TOKEN = `dapi${randomUUID().replace(/-/g, "")}`;
let emu: Emulator;
let dbx: DatabricksEmulator;
let entry: ReturnType<typeof createDatabricksProvider>;
let azurite: Azurite;
let store: BlobStore;
const secrets = new Map<string, Record<string, string>>();
const ctx = (): ProviderContext => ({
  kube: undefined as never, log: pino({ level: "silent" }), now: new Date(), signal: new AbortController().signal,
  readSecret: async (ns, name) => secrets.get(`${ns}/${name}`),
});

beforeAll(async () => {
  dbx = databricksService({ workspaces: [{ name: "adb-1", token: TOKEN, userName: "ml@example.com", clusters: ["0101-abc"] }], stepMs: 50 });
  emu = await startEmulator({ services: [dbx] });
  ({ az: azurite, store } = await storeOnAzurite());
  entry = createDatabricksProvider({ caBundlePath: emu.caPath, runPollMs: 100 });
  secrets.set(`${NS}/dbx-token`, { token: TOKEN });
  secrets.set(`${NS}/wrong-token`, { token: "dapi-not-the-token" });
});
afterAll(async () => {
  expect(emu?.controls.contractViolations ?? []).toEqual([]);
  await emu?.close();
  await azurite?.close();
});

function target(extra: Partial<NonNullable<ComputeTarget["spec"]["databricks"]>> = {}): ComputeTarget {
  return {
    apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget",
    metadata: { name: "dbx", namespace: NS, uid: randomUUID(), generation: 1 },
    spec: {
      type: "Databricks", deletionPolicy: "Delete",
      databricks: { workspaceUrl: dbx.workspaceUrl("adb-1"), tokenSecretRef: { name: "dbx-token", key: "token" }, ...extra },
    },
  } as ComputeTarget;
}

const submission = (t: ComputeTarget, files: Record<string, string>, argv: string[], attempt = 1): Promise<Attempt> =>
  storedAttempt(anAttempt({ target: t, files, argv, attempt, config: { framework: "PySpark", environmentVariables: { GREETING: "hej" } } }), store, files);
const until = (sub: Attempt, handle: unknown, done: (o: RunObservation) => boolean, timeoutMs?: number): Promise<RunObservation> =>
  observeUntil({ executor: entry.executor!, ctx, sub, handle }, done, timeoutMs);

describe("Databricks attach", () => {
  it("is Ready when the token works, naming the user and the existing cluster", async () => {
    const obs = await entry.compute.ensure(target({ existingClusterId: "0101-abc", resourceId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/adb-1" }), ctx());
    expect(obs.ready).toMatchObject({ status: "True", reason: "Attached" });
    expect(obs.ready.message).toContain("ml@example.com");
    expect(obs.ready.message).toContain("0101-abc is RUNNING");
    expect(obs.status?.resourceId).toContain("Microsoft.Databricks");
  });

  it("authentication EntraID: a Microsoft Entra token for the Azure Databricks resource from the namespace's Azure credentials, no PAT", async () => {
    const azure = new AzureClients(resolveConfig({ authorityHost: emu.url, disableInstanceDiscovery: true, caBundlePath: emu.caPath }));
    const entra = createDatabricksProvider({ caBundlePath: emu.caPath, runPollMs: 100 }, azure);
    const app = emu.clients[0]!;
    secrets.set(`${NS}/aml-azure-credentials`, { AZURE_TENANT_ID: emu.tenantId, AZURE_CLIENT_ID: app.clientId, AZURE_CLIENT_SECRET: app.clientSecret });
    const issued = emu.controls.tokensIssuedTo(app.clientId);
    const viaEntra = target({ authentication: "EntraID", tokenSecretRef: undefined });
    const obs = await entra.compute.ensure(viaEntra, ctx());
    expect(obs.ready).toMatchObject({ status: "True", reason: "Attached" });
    expect(emu.controls.tokensIssuedTo(app.clientId)).toBe(issued + 1);
    // A namespace with no Azure credentials of its own gets no token (the operator's identity serves no namespace here).
    const elsewhere = { ...viaEntra, metadata: { ...viaEntra.metadata, namespace: "team-without-credentials" } };
    expect((await entra.compute.ensure(elsewhere, ctx())).ready).toMatchObject({ status: "False", reason: "IdentityNotAllowed" });
  });

  it("reports a wrong token as AuthenticationFailed without leaking it", async () => {
    const obs = await entry.compute.ensure(target({ tokenSecretRef: { name: "wrong-token", key: "token" } }), ctx());
    expect(obs.ready).toMatchObject({ status: "False", reason: "AuthenticationFailed", severity: "Error" });
    expect(obs.ready.message).toContain("Invalid access token");
    expect(obs.ready.message).not.toContain("dapi-not-the-token");
  });

  it("reports a missing Secret, a missing key and an unknown cluster", async () => {
    expect((await entry.compute.ensure(target({ tokenSecretRef: { name: "nope", key: "token" } }), ctx())).ready)
      .toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect((await entry.compute.ensure(target({ tokenSecretRef: { name: "dbx-token", key: "pat" } }), ctx())).ready)
      .toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect((await entry.compute.ensure(target({ existingClusterId: "9999-zzz" }), ctx())).ready)
      .toMatchObject({ status: "False", reason: "ComputeNotFound" });
  });

  it("reports an unreachable workspace as Unreachable (Warning, retried)", async () => {
    const obs = await entry.compute.ensure(target({ workspaceUrl: "https://127.0.0.1:1/databricks/x" }), ctx());
    expect(obs.ready).toMatchObject({ status: "False", reason: "Unreachable", severity: "Warning" });
    expect(obs.requeueAfterMs).toBeGreaterThan(0);
  });
});

describe("Databricks runs", () => {
  it("runs the nested tree exactly as submitted (digest checked in its working directory) and keeps outputs byte-exact", async () => {
    const sub = await submission(target(), { "placeholder.py": "" }, ["train.py"]);
    expectTreeKept(await treeRoundTrip({ executor: entry.executor!, ctx, sub, store }));
  });

  it("runs the snapshot with real output and exit code 0; a repeated submit is the same run", async () => {
    const t = target();
    const sub = await submission(t, {
      "train.py": "import os, sys\nfrom helper import twice\nprint('loss', twice(0.25), os.environ['GREETING'], sys.argv[1:])\n",
      "helper.py": "def twice(x):\n    return x * 2\n",
    }, ["train.py", "--epochs", "2 words"]);
    const h = await entry.executor!.submit(sub, ctx()) as DatabricksHandle;
    const again = await entry.executor!.submit(sub, ctx()) as DatabricksHandle;
    expect(again.runId).toBe(h.runId);
    expect(dbx.runIds().filter((id) => id === h.runId)).toHaveLength(1);
    const o = await until(sub, h, ended);
    expect(o).toMatchObject({ state: "Succeeded", exitCode: 0, links: { databricksRunId: String(h.runId) } });
    expect(o.outputTail).toContain("loss 0.5 hej ['--epochs', '2 words']");
    expect(o.outputTail).not.toContain("[amlcompute]");
    const body = dbx.run(h.runId)!.body as { idempotency_token: string; tasks: { spark_python_task: { python_file: string }; new_cluster?: { num_workers: number } }[] };
    expect(body.idempotency_token).toBe(`${sub.run.metadata.uid}-a1`);
    expect(body.tasks[0]!.new_cluster?.num_workers).toBe(0);
    // The entry file is a workspace file: the workspace has no DBFS root (as new workspaces do not).
    expect(body.tasks[0]!.spark_python_task).toMatchObject({ source: "WORKSPACE", python_file: expect.stringMatching(/^\/Shared\/amlcompute\/runs\//) });
    expect(dbx.workspaceFile("adb-1", body.tasks[0]!.spark_python_task.python_file)).toBeDefined();
    expect(dbx.run(h.runId)!.history).toEqual(["PENDING", "RUNNING", "TERMINATING", "TERMINATED/SUCCESS"]);
    // The SAS URLs live in the secret scope, referenced by the job cluster; not in the run or the file.
    expect(JSON.stringify(body)).not.toContain("sig=");
    expect(dbx.workspaceFile("adb-1", body.tasks[0]!.spark_python_task.python_file)!.toString()).not.toContain("sig=");
    expect(dbx.secretKeys("adb-1", "amlcompute")).toContain(`${sub.run.metadata.uid}-a1.output-url`);
    await entry.executor!.release!({ ...sub, handle: h }, ctx());
    expect(dbx.secretKeys("adb-1", "amlcompute")).not.toContain(`${sub.run.metadata.uid}-a1.output-url`);
    await entry.executor!.cleanup({ ...sub, target: t, handle: h }, ctx());
    expect(dbx.workspaceFile("adb-1", body.tasks[0]!.spark_python_task.python_file)).toBeUndefined();
  });

  it("reports a failing script as Failed with its exit code and output", async () => {
    const sub = await submission(target({ existingClusterId: "0101-abc" }), { "fail.py": "import sys\nprint('about to fail')\nsys.exit(3)\n" }, ["fail.py"]);
    const h = await entry.executor!.submit(sub, ctx());
    const o = await until(sub, h, ended);
    expect(o).toMatchObject({ state: "Failed", reason: "ScriptFailed", exitCode: 3 });
    expect(o.outputTail).toContain("about to fail");
    expect(o.message).toContain("SystemExit: 3");
  });

  it("cancels a running run through runs/cancel; what ./outputs held is kept (the runner's periodic upload)", async () => {
    const sub = await submission(target(), { "slow.py": CHECKPOINT_THEN_SLEEP }, ["slow.py"]);
    const h = await entry.executor!.submit(sub, ctx());
    await until(sub, h, (o) => o.state === "Running");
    const result = await outputsSynced(store, sub);
    await entry.executor!.cancel({ ...sub, handle: h }, ctx());
    const o = await until(sub, h, ended, 10_000);
    expect(o).toMatchObject({ state: "Failed", reason: "Canceled" });
    expect(await result()).toMatchObject({ provisional: true, outputs: { files: 1, bytes: "epoch 1".length } });
    await entry.executor!.cancel({ ...sub, handle: h }, ctx()); // idempotent
  });

  it("a wrong token fails submit as a terminal AuthenticationFailed; an unknown run is Lost", async () => {
    const bad = await submission(target({ tokenSecretRef: { name: "wrong-token", key: "token" } }), { "a.py": "print(1)\n" }, ["a.py"]);
    await expect(entry.executor!.submit(bad, ctx())).rejects.toMatchObject({ name: "TerminalError", reason: "AuthenticationFailed" });
    const good = await submission(target(), { "a.py": "print(1)\n" }, ["a.py"]);
    expect(await entry.executor!.observe({ ...good, handle: { runId: 1, entryPath: "dbfs:/x" } }, ctx())).toMatchObject({ state: "Lost" });
  });

  it("throttling is transient and honours Retry-After", async () => {
    emu.controls.addFault({ path: "/databricks/adb-1/api/2.0/preview/scim", status: 429, retryAfterSeconds: 7, times: 1 });
    const err = await entry.compute.ensure(target(), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ reason: "Throttled", retryAfterMs: 7000 });
  });
});
