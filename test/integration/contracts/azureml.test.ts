import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, startEmulator, type Azurite, type Emulator } from "../../azure-emulator/index.js";
import { armError, send, token, type RawResponse } from "./raw-client.js";

// The ARM emulator held to the contracts in test/contracts/azureml (Microsoft.MachineLearningServices
// 2022-10-01): request bodies shaped like the document's examples (our own values) are accepted,
// each mutation that breaks one documented rule is refused with ARM's 400 error body, and the
// emulator's own answers never break the contract.
const WS = { subscriptionId: "00000000-1111-2222-3333-444444444444", resourceGroup: "rg-contracts", name: "ws-contracts", location: "northeurope" };
const V = "api-version=2022-10-01";
const base = `/subscriptions/${WS.subscriptionId}/resourceGroups/${WS.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${WS.name}`;
let emu: Emulator;
let azurite: Azurite;
let bearer: string;

beforeAll(async () => {
  azurite = await startAzurite();
  emu = await startEmulator({
    workspaces: [WS], provisioningMs: 100, retryAfterSeconds: 1,
    azurite: { blobEndpoint: azurite.blobEndpoint, accountName: azurite.accountName, accountKey: azurite.accountKey },
  });
  bearer = await token(emu);
});
afterAll(async () => {
  expect(emu.controls.contractViolations).toEqual([]);
  await emu?.close();
  await azurite?.close();
});

const arm = (method: string, path: string, body?: unknown, query = V): Promise<RawResponse> => send(emu, method, `${base}${path}?${query}`, { body, bearer });

const amlCompute = (props: Record<string, unknown> = {}, envelope: Record<string, unknown> = {}) => ({
  location: WS.location,
  tags: { team: "contracts" },
  properties: {
    computeType: "AmlCompute",
    description: "contract test cluster",
    properties: {
      vmSize: "STANDARD_DS3_V2", vmPriority: "Dedicated", osType: "Linux", remoteLoginPortPublicAccess: "NotSpecified",
      enableNodePublicIp: true, isolatedNetwork: false,
      scaleSettings: { maxNodeCount: 2, minNodeCount: 0, nodeIdleTimeBeforeScaleDown: "PT5M" },
      ...props,
    },
  },
  ...envelope,
});

function expectRefused(r: RawResponse, code: string, ...fragments: string[]): void {
  expect(r.status).toBe(400);
  const e = armError(r);
  expect(e.code).toBe(code);
  for (const f of fragments) expect(e.message).toContain(f);
}

describe("compute PUT/GET/DELETE (machineLearningServices.json)", () => {
  it("accepts an AmlCompute body shaped like the document's example: 201 with Azure-AsyncOperation, GET answers the compute", async () => {
    const put = await arm("PUT", "/computes/cpu-contract", amlCompute());
    expect(put.status).toBe(201);
    expect(put.headers["azure-asyncoperation"]).toMatch(/^https:\/\//);
    const get = await arm("GET", "/computes/cpu-contract");
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ name: "cpu-contract", properties: { computeType: "AmlCompute", computeLocation: WS.location } });
  });

  it("accepts a PUT without vmSize and applies the service's default", async () => {
    const put = await arm("PUT", "/computes/no-size", amlCompute({ vmSize: undefined }));
    expect(put.status).toBe(201);
    const get = await arm("GET", "/computes/no-size");
    expect((get.body as { properties: { properties: { vmSize?: string } } }).properties.properties.vmSize).toBe("STANDARD_DS3_V2");
  });

  it("accepts an attached HDInsight compute (resourceId, address, sshPort)", async () => {
    const put = await arm("PUT", "/computes/hdi-contract", {
      properties: {
        computeType: "HDInsight", description: "attached Spark cluster",
        resourceId: `/subscriptions/${WS.subscriptionId}/resourceGroups/rg-hdi/providers/Microsoft.HDInsight/clusters/spark-1`,
        properties: { address: "spark-1-ssh.azurehdinsight.net", sshPort: 22 },
      },
    });
    expect(put.status).toBe(201);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a read-only provisioningState", amlCompute({}, { properties: { ...amlCompute().properties, provisioningState: "Succeeded" } }), "/properties/provisioningState is read-only"],
    ["a read-only computeLocation", amlCompute({}, { properties: { ...amlCompute().properties, computeLocation: "westus" } }), "/properties/computeLocation is read-only"],
    ["read-only node counts", amlCompute({ currentNodeCount: 1 }), "/properties/properties/currentNodeCount is read-only"],
    ["a vmPriority outside the enum", amlCompute({ vmPriority: "Spot" }), "/properties/properties/vmPriority must be equal to one of the allowed values"],
    ["scaleSettings without maxNodeCount", amlCompute({ scaleSettings: { minNodeCount: 0 } }), "must have required property 'maxNodeCount'"],
    ["maxNodeCount as a string", amlCompute({ scaleSettings: { maxNodeCount: "2" } }), "/properties/properties/scaleSettings/maxNodeCount must be integer"],
    ["an idle time that is no ISO 8601 duration", amlCompute({ scaleSettings: { maxNodeCount: 2, nodeIdleTimeBeforeScaleDown: "5 minutes" } }), "nodeIdleTimeBeforeScaleDown must match format \"duration\""],
    ["a subnet without id", amlCompute({ subnet: { name: "default" } }), "must have required property 'id'"],
    ["no computeType", { properties: { properties: { vmSize: "STANDARD_DS3_V2" } } }, "must have required property 'computeType'"],
    ["a computeType outside the enum", { properties: { computeType: "Batch" } }, "/properties/computeType must be equal to one of the allowed values"],
  ])("refuses %s with 400 and an ARM error body", async (_what, body, fragment) => {
    expectRefused(await arm("PUT", "/computes/bad-body", body), "BadRequest", fragment);
  });

  it.each([
    ["too short", "ab"], ["too long (25)", `c${"x".repeat(24)}`], ["a digit first", "1cluster"], ["a hyphen no letter follows", "gpu-01"], ["an underscore", "gpu_cluster"],
  ])("refuses a cluster name that is %s", async (_what, name) => {
    expectRefused(await arm("PUT", `/computes/${name}`, amlCompute()), "BadRequest", name);
  });

  it.each(["abc", "gpu-1a", "a-1-b", `c${"x".repeat(23)}`])("accepts the cluster name %s (a letter after every hyphen, 3-24 characters)", async (name) => {
    expect((await arm("PUT", `/computes/${name}`, amlCompute())).status).toBe(201);
  });

  it("refuses an attached compute name longer than 16 characters", async () => {
    const name = "hdi-attached-abcdef";
    expectRefused(await arm("PUT", `/computes/${name}`, {
      properties: { computeType: "HDInsight", resourceId: `/subscriptions/${WS.subscriptionId}/resourceGroups/rg/providers/Microsoft.HDInsight/clusters/c1`, properties: { address: "h", sshPort: 22 } },
    }), "BadRequest", name, "16");
  });

  it("DELETE needs underlyingResourceAction from the enum; a documented DELETE answers 202 with both operation headers", async () => {
    expectRefused(await arm("DELETE", "/computes/cpu-contract"), "BadRequest", "underlyingResourceAction");
    expectRefused(await arm("DELETE", "/computes/cpu-contract", undefined, `${V}&underlyingResourceAction=Remove`), "BadRequest", "underlyingResourceAction");
    const del = await arm("DELETE", "/computes/cpu-contract", undefined, `${V}&underlyingResourceAction=Delete`);
    expect(del.status).toBe(202);
    expect(del.headers["azure-asyncoperation"]).toBeTruthy();
    expect(del.headers.location).toBeTruthy();
  });

  it("refuses a missing or foreign api-version", async () => {
    expectRefused(await arm("GET", "/computes/cpu-contract", undefined, ""), "MissingApiVersionParameter");
    expectRefused(await arm("GET", "/computes/cpu-contract", undefined, "api-version=2021-01-01"), "InvalidApiVersionParameter", "2021-01-01");
  });
});

describe("datastores, code and environment versions, command jobs (mfe.json)", () => {
  const codeUri = () => `${azurite.blobEndpoint}/azureml-blobstore-contract/LocalUpload/abc123`;

  it("answers datastore GET and listSecrets in the documented shapes", async () => {
    const list = await arm("GET", "/datastores", undefined, `${V}&isDefault=true`);
    expect(list.status).toBe(200);
    const ds = (list.body as { value: { name: string }[] }).value[0]!;
    expect((await arm("GET", `/datastores/${ds.name}`)).status).toBe(200);
    expect((await arm("POST", `/datastores/${ds.name}/listSecrets`)).status).toBe(200);
  });

  it("accepts a code version and refuses unknown properties (additionalProperties: false)", async () => {
    expect((await arm("PUT", "/codes/contract-code/versions/1", { properties: { description: "snapshot", codeUri: codeUri(), isAnonymous: true, properties: {}, tags: {} } })).status).toBe(201);
    expectRefused(await arm("PUT", "/codes/contract-code/versions/2", { properties: { codeUri: codeUri(), sha256: "abc" } }), "BadRequest", "unknown property 'sha256'");
    expectRefused(await arm("PUT", "/codes/contract-code/versions/3", {}), "BadRequest", "must have required property 'properties'");
  });

  const job = (props: Record<string, unknown> = {}) => ({
    properties: {
      jobType: "Command", displayName: "contract job", experimentName: "contracts",
      computeId: `${base}/computes/cpu-job`,
      codeId: `${base}/codes/contract-code/versions/1`,
      environmentId: `${base}/environments/contract-env/versions/1`,
      command: "python train.py --epochs 1",
      environmentVariables: { MODE: "contract" },
      distribution: { distributionType: "PyTorch", processCountPerInstance: 1 },
      resources: { instanceCount: 1, shmSize: "2g" },
      limits: { jobLimitsType: "Command", timeout: "PT10M" },
      properties: {}, tags: {},
      ...props,
    },
  });

  it("accepts a command job with a distribution; cancel answers 202 with Location and a Retry-After of 10-600 s", async () => {
    expect((await arm("PUT", "/computes/cpu-job", amlCompute())).status).toBe(201);
    expect((await arm("PUT", "/environments/contract-env/versions/1", { properties: { image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest", description: "env" } })).status).toBe(201);
    const put = await arm("PUT", "/jobs/contract-job-1", job({ command: "sleep 30" }));
    expect(put.status).toBe(201);
    const cancel = await arm("POST", "/jobs/contract-job-1/cancel");
    expect(cancel.status).toBe(202);
    expect(cancel.headers.location).toBeTruthy();
    expect(Number(cancel.headers["retry-after"])).toBeGreaterThanOrEqual(10);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["without command", job({ command: undefined }), "must have required property 'command'"],
    ["with an empty command", job({ command: "" }), "/properties/command must NOT have fewer than 1 characters"],
    ["without environmentId", job({ environmentId: undefined }), "must have required property 'environmentId'"],
    ["with a read-only status", job({ status: "Running" }), "/properties/status is read-only"],
    ["with an unknown distributionType", job({ distribution: { distributionType: "Horovod" } }), "/properties/distribution/distributionType must be equal to one of the allowed values"],
    ["with a TensorFlow field on a PyTorch distribution", job({ distribution: { distributionType: "PyTorch", workerCount: 2 } }), "unknown property 'workerCount'"],
    ["with an unknown property", job({ exitCode: 0 }), "unknown property 'exitCode'"],
    ["with a shmSize in no known unit", job({ resources: { instanceCount: 1, shmSize: "lots" } }), "/properties/resources/shmSize must match pattern"],
    ["with a timeout that is no duration", job({ limits: { jobLimitsType: "Command", timeout: "10 minutes" } }), "/properties/limits/timeout must match format \"duration\""],
  ])("refuses a command job %s", async (_what, body, fragment) => {
    expectRefused(await arm("PUT", "/jobs/contract-job-bad", body), "BadRequest", fragment);
  });
});
