import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchService } from "../../azure-emulator/batch.js";
import { startAzurite, startEmulator, type Azurite, type Emulator } from "../../azure-emulator/index.js";
import { armError, send, token, type RawResponse } from "./raw-client.js";

// The Batch emulator held to test/contracts/batch: the data plane at 2024-07-01.20.0 and the
// management plane at 2023-11-01. Bodies shaped like the document's examples (our own values) are
// accepted; each mutation breaking one documented rule is refused with Batch's 400 error body.
const ACCOUNT = { subscriptionId: "33333333-0000-0000-0000-000000000003", resourceGroup: "rg-contracts", name: "contractbatch", pools: [{ id: "mpi-pool", vmSize: "STANDARD_D2S_V3", nodes: 2 }] };
const DV = "api-version=2024-07-01.20.0";
let emu: Emulator;
let azurite: Azurite;
let batchBearer: string;
let armBearer: string;

beforeAll(async () => {
  azurite = await startAzurite();
  emu = await startEmulator({
    services: [batchService({ accounts: [ACCOUNT], stepMs: 50 })],
    azurite: { blobEndpoint: azurite.blobEndpoint, accountName: azurite.accountName, accountKey: azurite.accountKey },
  });
  batchBearer = await token(emu, "https://batch.core.windows.net");
  armBearer = await token(emu);
});
afterAll(async () => {
  expect(emu.controls.contractViolations).toEqual([]);
  await emu?.close();
  await azurite?.close();
});

const dp = (method: string, path: string, body?: unknown, query = DV): Promise<RawResponse> =>
  send(emu, method, `/batch/${ACCOUNT.name}${path}?${query}`, { body, bearer: batchBearer });

function batchError(r: RawResponse): { code: string; message: string } {
  const b = r.body as { code?: string; message?: { value?: string } };
  if (!b.code || typeof b.message?.value !== "string") throw new Error(`not a Batch error body: ${JSON.stringify(r.body)}`);
  return { code: b.code, message: b.message.value };
}

const autoPoolJob = (id: string, extra: Record<string, unknown> = {}) => ({
  id, displayName: "contract job", priority: 0,
  poolInfo: {
    autoPoolSpecification: {
      autoPoolIdPrefix: "contract", poolLifetimeOption: "job", keepAlive: false,
      pool: {
        vmSize: "standard_d2s_v3", targetDedicatedNodes: 2, taskSlotsPerNode: 1, enableInterNodeCommunication: true,
        virtualMachineConfiguration: { imageReference: { publisher: "canonical", offer: "0001-com-ubuntu-server-jammy", sku: "22_04-lts", version: "latest" }, nodeAgentSKUId: "batch.node.ubuntu 22.04" },
      },
    },
  },
  onAllTasksComplete: "noaction",
  metadata: [{ name: "owner", value: "contracts" }],
  ...extra,
});

const task = (id: string, extra: Record<string, unknown> = {}) => ({
  id, displayName: "contract task", commandLine: "/bin/sh -c 'echo contract'",
  environmentSettings: [{ name: "MODE", value: "contract" }],
  constraints: { maxWallClockTime: "PT10M", maxTaskRetryCount: 0 },
  userIdentity: { autoUser: { scope: "task", elevationLevel: "nonadmin" } },
  ...extra,
});

describe("data plane (BatchService.json 2024-07-01.20.0)", () => {
  it("accepts a job on an auto-pool and a multi-instance task; Task_Get answers a CloudTask", async () => {
    expect((await dp("POST", "/jobs", autoPoolJob("contract-job"))).status).toBe(201);
    const add = await dp("POST", "/jobs/contract-job/tasks", task("mpi", {
      multiInstanceSettings: { numberOfInstances: 2, coordinationCommandLine: "/bin/true", commonResourceFiles: [] },
    }));
    expect(add.status).toBe(201);
    const get = await dp("GET", "/jobs/contract-job/tasks/mpi");
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ id: "mpi", multiInstanceSettings: { numberOfInstances: 2 }, executionInfo: { retryCount: 0, requeueCount: 0 } });
    expect((await dp("POST", "/jobs/contract-job/terminate", { terminateReason: "contract test over" })).status).toBe(202);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["without poolInfo", { id: "j-nopool" }, "must have required property 'poolInfo'"],
    ["with an id Batch does not allow", autoPoolJob("job.with.dots"), "/id must match pattern"],
    ["with an auto-pool lacking poolLifetimeOption", autoPoolJob("j-life", { poolInfo: { autoPoolSpecification: { pool: { vmSize: "standard_d2s_v3" } } } }), "must have required property 'poolLifetimeOption'"],
    ["with a poolLifetimeOption outside the enum", autoPoolJob("j-forever", { poolInfo: { autoPoolSpecification: { poolLifetimeOption: "forever" } } }), "poolLifetimeOption must be equal to one of the allowed values"],
    ["with an onAllTasksComplete outside the enum", autoPoolJob("j-oatc", { onAllTasksComplete: "deletejob" }), "/onAllTasksComplete must be equal to one of the allowed values"],
    ["with metadata lacking a value", autoPoolJob("j-meta", { metadata: [{ name: "owner" }] }), "must have required property 'value'"],
  ])("refuses a job %s", async (_what, body, fragment) => {
    const r = await dp("POST", "/jobs", body);
    expect(r.status).toBe(400);
    expect(batchError(r)).toMatchObject({ code: "InvalidRequestBody" });
    expect(batchError(r).message).toContain(fragment);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["without commandLine", { id: "t-nocmd" }, "must have required property 'commandLine'"],
    ["with a resource file naming no source", task("t-rf", { resourceFiles: [{ filePath: "src/a.py" }] }), "/resourceFiles/0 must match exactly one schema in oneOf"],
    ["with an elevationLevel outside the enum", task("t-root", { userIdentity: { autoUser: { scope: "task", elevationLevel: "root" } } }), "elevationLevel must be equal to one of the allowed values"],
    ["with a wall clock limit that is no ISO 8601 duration", task("t-wall", { constraints: { maxWallClockTime: "10m" } }), "maxWallClockTime must match format \"duration\""],
    ["with multi-instance settings lacking the coordination command", task("t-mi", { multiInstanceSettings: { numberOfInstances: 2 } }), "must have required property 'coordinationCommandLine'"],
  ])("refuses a task %s", async (_what, body, fragment) => {
    expect((await dp("POST", "/jobs", autoPoolJob(`host-${String(body.id)}`))).status).toBe(201);
    const r = await dp("POST", `/jobs/host-${String(body.id)}/tasks`, body);
    expect(r.status).toBe(400);
    expect(batchError(r).message).toContain(fragment);
  });

  it("refuses an api-version other than the one the contracts were transcribed from", async () => {
    const r = await dp("GET", "/jobs/contract-job", undefined, "api-version=2023-05-01.17.0");
    expect(r.status).toBe(400);
    expect(batchError(r).code).toBe("InvalidQueryParameterValue");
  });
});

describe("management plane (BatchManagement.json 2023-11-01, storage.json 2023-01-01)", () => {
  const acct = `/subscriptions/${ACCOUNT.subscriptionId}/resourceGroups/${ACCOUNT.resourceGroup}/providers/Microsoft.Batch/batchAccounts/${ACCOUNT.name}`;
  it("answers the account, its pool and the auto-storage account's blob endpoint in the documented shapes", async () => {
    const a = await send(emu, "GET", `${acct}?api-version=2023-11-01`, { bearer: armBearer });
    expect(a.status).toBe(200);
    const storageId = (a.body as { properties: { autoStorage: { storageAccountId: string } } }).properties.autoStorage.storageAccountId;
    expect((await send(emu, "GET", `${acct}/pools/mpi-pool?api-version=2023-11-01`, { bearer: armBearer })).status).toBe(200);
    const st = await send(emu, "GET", `${storageId}?api-version=2023-01-01`, { bearer: armBearer });
    expect(st.status).toBe(200);
    expect((st.body as { properties: { primaryEndpoints: { blob: string } } }).properties.primaryEndpoints.blob).toBe(`${azurite.blobEndpoint}/`);
  });

  it("refuses a foreign api-version with ARM's error body", async () => {
    const r = await send(emu, "GET", `${acct}?api-version=2024-07-01`, { bearer: armBearer });
    expect(r.status).toBe(400);
    expect(armError(r).code).toBe("InvalidApiVersionParameter");
  });
});
