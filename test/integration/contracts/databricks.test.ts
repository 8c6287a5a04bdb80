import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURE_DATABRICKS_RESOURCE, databricksService, type DatabricksEmulator } from "../../azure-emulator/databricks.js";
import { startEmulator, type Emulator } from "../../azure-emulator/index.js";
import { send, token, type RawResponse } from "./raw-client.js";

// The Databricks emulator held to test/contracts/databricks (Jobs API 2.1, Workspace API 2.0):
// bodies shaped like the reference's examples (our own values) are accepted, each mutation that
// breaks one documented rule is refused with `{error_code, message}`; no DBFS root; Entra tokens
// for the Azure Databricks resource work where personal access tokens do.
const PAT = "dapi0123456789abcdef0123456789abcdef";
let emu: Emulator;
let dbx: DatabricksEmulator;

beforeAll(async () => {
  dbx = databricksService({ workspaces: [{ name: "adb-contract", token: PAT, userName: "ml@example.com", clusters: ["0101-contract"] }], stepMs: 20 });
  emu = await startEmulator({ services: [dbx] });
});
afterAll(async () => {
  expect(emu.controls.contractViolations).toEqual([]);
  await emu?.close();
});

const api = (method: string, path: string, body?: unknown, bearer = PAT): Promise<RawResponse> =>
  send(emu, method, `/databricks/adb-contract${path}`, { body, bearer });

function refused(r: RawResponse, fragment: string): void {
  expect(r.status).toBe(400);
  expect(r.body).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
  expect((r.body as { message: string }).message).toContain(fragment);
}

const submit = (task: Record<string, unknown> = {}, run: Record<string, unknown> = {}) => ({
  run_name: "contract run", idempotency_token: "contract-0001", timeout_seconds: 600,
  tasks: [{
    task_key: "train", existing_cluster_id: "0101-contract",
    spark_python_task: { python_file: "/Users/ml@example.com/contract/main.py", parameters: ["--epochs", "1"], source: "WORKSPACE" },
    libraries: [{ pypi: { package: "numpy" } }],
    ...task,
  }],
  ...run,
});

describe("Workspace files and Jobs API 2.1", () => {
  it("imports a file into the workspace and runs it with runs/submit; runs/get and get-output answer in the documented shapes", async () => {
    expect((await api("POST", "/api/2.0/workspace/mkdirs", { path: "/Users/ml@example.com/contract" })).status).toBe(200);
    const content = Buffer.from("print('contract ok')\n").toString("base64");
    expect((await api("POST", "/api/2.0/workspace/import", { path: "/Users/ml@example.com/contract/main.py", content, format: "AUTO", overwrite: true })).status).toBe(200);
    const r = await api("POST", "/api/2.1/jobs/runs/submit", submit());
    expect(r.status).toBe(200);
    const runId = (r.body as { run_id: number }).run_id;
    let run: RawResponse;
    for (;;) {
      run = await api("GET", `/api/2.1/jobs/runs/get?run_id=${runId}`);
      if ((run.body as { state: { life_cycle_state: string } }).state.life_cycle_state === "TERMINATED") break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(run.body).toMatchObject({ state: { result_state: "SUCCESS" } });
    const taskRunId = (run.body as { tasks: { run_id: number }[] }).tasks[0]!.run_id;
    const out = await api("GET", `/api/2.1/jobs/runs/get-output?run_id=${taskRunId}`);
    expect((out.body as { logs: string }).logs).toContain("contract ok");
    expect((await api("POST", "/api/2.1/jobs/runs/cancel", { run_id: runId })).status).toBe(200);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["no tasks", submit({}, { tasks: [] }), "/tasks must NOT have fewer than 1 items"],
    ["a task without task_key", submit({ task_key: undefined }), "must have required property 'task_key'"],
    ["a task_key with a space", submit({ task_key: "my task" }), "/task_key must match pattern"],
    ["a spark_python_task without python_file", submit({ spark_python_task: { parameters: [] } }), "must have required property 'python_file'"],
    ["a source outside the enum", submit({ spark_python_task: { python_file: "/x.py", source: "DBFS" } }), "/source must be equal to one of the allowed values"],
    ["an idempotency_token over 64 characters", submit({}, { idempotency_token: "t".repeat(65) }), "/idempotency_token must NOT have more than 64 characters"],
    ["timeout_seconds as a string", submit({}, { timeout_seconds: "600" }), "/timeout_seconds must be integer"],
    ["a pypi library without package", submit({ libraries: [{ pypi: { repo: "https://pypi.example" } }] }), "must have required property 'package'"],
  ])("refuses runs/submit with %s", async (_what, body, fragment) => {
    refused(await api("POST", "/api/2.1/jobs/runs/submit", body), fragment);
  });

  it("refuses runs/cancel without run_id and a workspace import in an unknown format", async () => {
    refused(await api("POST", "/api/2.1/jobs/runs/cancel", {}), "must have required property 'run_id'");
    refused(await api("POST", "/api/2.0/workspace/import", { path: "/Shared/a.py", content: "", format: "PDF" }), "/format must be equal to one of the allowed values");
    refused(await api("POST", "/api/2.0/workspace/import", { path: "Shared/a.py", content: "" }), "/path must match pattern");
  });

  it("has no DBFS root: writes outside /Volumes are refused, and a run whose file is on the DBFS root fails", async () => {
    const put = await api("POST", "/api/2.0/dbfs/put", { path: "/amlcompute/entry.py", contents: "", overwrite: true });
    expect(put.status).toBe(403);
    expect(put.body).toMatchObject({ error_code: "PERMISSION_DENIED" });
    expect((put.body as { message: string }).message).toContain("DBFS root is disabled");
  });

  it("accepts a Microsoft Entra token for the Azure Databricks resource and refuses one for another audience", async () => {
    expect((await api("GET", "/api/2.0/preview/scim/v2/Me", undefined, await token(emu, AZURE_DATABRICKS_RESOURCE))).status).toBe(200);
    const arm = await api("GET", "/api/2.0/preview/scim/v2/Me", undefined, await token(emu));
    expect(arm.status).toBe(403);
  });
});
