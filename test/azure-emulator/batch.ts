import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import type { Operation } from "../contracts/index.js";
import { ContractGuard } from "./contract-guard.js";
import { killTree } from "./process-tree.js";
import type { EmulatedService, ServiceHost, ServiceRequest } from "./emulator.js";

/**
 * Azure Batch for the emulator: the management plane through ARM (Microsoft.Batch batchAccounts
 * and pools GET, Microsoft.Storage listKeys of the auto-storage account = Azurite) and the data
 * plane under /batch/<account> (jobs add/get/terminate/delete, tasks add/get/list/terminate, task
 * files with ocp-range). Like the service: Entra bearer tokens checked for the ARM or the Batch
 * audience, api-version checks, Batch error bodies `{code, message: {lang, value}}`, JobExists /
 * TaskExists conflicts, task states active → preparing → running → completed with executionInfo,
 * auto-pools, onAllTasksComplete. Resource files are really downloaded from their SAS URLs and the
 * command line really runs (no shell unless it invokes one), so stdout and exit codes are real.
 */

export interface BatchAccountOptions {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location?: string;
  readonly pools?: readonly { id: string; vmSize?: string; nodes?: number }[];
  /** Link no auto-storage account (attach must then report it). */
  readonly noAutoStorage?: boolean;
}

type TaskState = "active" | "preparing" | "running" | "completed";

interface TaskRecord {
  id: string;
  body: Record<string, unknown>;
  state: TaskState;
  dir: string;
  /** Multi-instance: each instance's task root directory (the primary's first). */
  instanceDirs?: string[];
  child?: ChildProcess;
  terminateRequested: boolean;
  executionInfo: Record<string, unknown>;
  history: TaskState[];
  creationTime: string;
}

interface JobRecord {
  id: string;
  account: string;
  body: Record<string, unknown>;
  state: "active" | "terminating" | "completed" | "deleting";
  tasks: Map<string, TaskRecord>;
  creationTime: string;
  terminateReason?: string;
}

export interface BatchEmulator extends EmulatedService {
  task(account: string, jobId: string, taskId: string): { state: TaskState; executionInfo: Record<string, unknown>; history: TaskState[]; body: Record<string, unknown>; instanceDirs?: string[] } | undefined;
  job(account: string, jobId: string): { state: string; body: Record<string, unknown>; terminateReason?: string } | undefined;
  jobIds(account: string): string[];
}

const ARM_AUDIENCE = "https://management.azure.com";
const BATCH_AUDIENCE = "https://batch.core.windows.net";
// The versions the contracts under test/contracts/batch were transcribed from (and the provider speaks).
const MGMT_VERSIONS = new Set(["2023-11-01"]);
const STORAGE_VERSIONS = new Set(["2023-01-01"]);
const DATA_VERSIONS = new Set(["2024-07-01.20.0"]);

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly arm = false) {
    super(message);
  }
}

/** Splits a Batch command line like the Linux node agent: whitespace, '…', "…" and backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated single quote");
      cur += line.slice(i + 1, end);
      i = end;
      has = true;
    } else if (c === '"') {
      const [text, end] = doubleQuoted(line, i + 1);
      cur += text;
      i = end;
      has = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** The text of a "…" section starting at `from` and the index of its closing quote. */
function doubleQuoted(line: string, from: number): [string, number] {
  let text = "";
  let i = from;
  for (; i < line.length && line[i] !== '"'; i++) {
    if (line[i] === "\\" && i + 1 < line.length) i++;
    text += line[i];
  }
  return [text, i];
}

export function batchService(opts: { accounts: readonly BatchAccountOptions[]; stepMs?: number; allowSharedKeyAccess?: boolean }): BatchEmulator {
  const stepMs = opts.stepMs ?? 150;
  /** The storage account's allowSharedKeyAccess, as reported (a client that needs the key is then refused it). */
  const sharedKeyAccess = opts.allowSharedKeyAccess ?? true;
  const accounts = new Map(opts.accounts.map((a) => [a.name.toLowerCase(), a]));
  const jobs = new Map<string, JobRecord>();
  const root = mkdtempSync(join(tmpdir(), "batch-emu-"));
  let host: ServiceHost | undefined;
  let closed = false;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const now = () => new Date().toISOString();
  const jobKey = (account: string, id: string) => `${account.toLowerCase()}/${id.toLowerCase()}`;
  const guard = new ContractGuard("batch");

  // ---------- management plane (ARM) ----------
  const accountView = (a: BatchAccountOptions) => {
    const id = `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroup}/providers/Microsoft.Batch/batchAccounts/${a.name}`;
    const endpoint = `${new URL(host!.url).host}/batch/${a.name}`;
    return {
      id, name: a.name, type: "Microsoft.Batch/batchAccounts", location: a.location ?? "westeurope",
      identity: { type: "None" },
      properties: {
        accountEndpoint: endpoint, nodeManagementEndpoint: `${randomUUID()}.${a.location ?? "westeurope"}.service.batch.azure.com`,
        provisioningState: "Succeeded", poolAllocationMode: "BatchService", publicNetworkAccess: "Enabled",
        dedicatedCoreQuota: 100, lowPriorityCoreQuota: 100, poolQuota: 100, activeJobAndJobScheduleQuota: 300,
        ...(a.noAutoStorage ? {} : {
          autoStorage: {
            storageAccountId: `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${host?.azurite?.accountName ?? "none"}`,
            lastKeySync: now(), authenticationMode: "StorageKeys",
          },
        }),
        allowedAuthenticationModes: ["SharedKey", "AAD", "TaskAuthenticationToken"],
      },
    };
  };

  /** The request against the published document (after the api-version, which each plane answers in its own words). */
  const conform = (op: Operation | undefined, req: ServiceRequest, isArm: boolean) => {
    const broken = guard.requestError(op, req.url.searchParams, req.body ? JSON.parse(req.body) as unknown : undefined);
    if (broken) throw new HttpError(400, isArm ? "BadRequest" : "InvalidRequestBody", broken, isArm);
  };

  const arm = (req: ServiceRequest, op: Operation | undefined): unknown => {
    const p = req.url.pathname;
    const acct = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Batch\/batchAccounts\/([^/]+)(?:\/pools\/([^/]+))?$/i.exec(p);
    const keys = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)\/listKeys$/i.exec(p);
    const storage = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i.exec(p);
    const versions = acct ? MGMT_VERSIONS : STORAGE_VERSIONS;
    const v = req.url.searchParams.get("api-version");
    if (!v) throw new HttpError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.", true);
    if (!versions.has(v)) throw new HttpError(400, "InvalidApiVersionParameter", `The api-version '${v}' is invalid. The supported versions are '${[...versions].join(",")}'.`, true);
    conform(op, req, true);
    if (acct && req.method === "GET") {
      const a = accounts.get(acct[3]!.toLowerCase());
      if (!a || a.subscriptionId.toLowerCase() !== acct[1]!.toLowerCase() || a.resourceGroup.toLowerCase() !== acct[2]!.toLowerCase()) {
        throw new HttpError(404, "ResourceNotFound", `The Resource 'Microsoft.Batch/batchAccounts/${acct[3]}' under resource group '${acct[2]}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`, true);
      }
      if (!acct[4]) return accountView(a);
      const pool = a.pools?.find((x) => x.id === acct[4]);
      if (!pool) throw new HttpError(404, "PoolNotFound", `The specified pool '${acct[4]}' does not exist.`, true);
      return {
        id: `${accountView(a).id}/pools/${pool.id}`, name: pool.id, type: "Microsoft.Batch/batchAccounts/pools",
        properties: {
          vmSize: pool.vmSize ?? "STANDARD_D2S_V3", provisioningState: "Succeeded", allocationState: "Steady",
          currentDedicatedNodes: pool.nodes ?? 1, currentLowPriorityNodes: 0,
          scaleSettings: { fixedScale: { targetDedicatedNodes: pool.nodes ?? 1, targetLowPriorityNodes: 0 } },
        },
      };
    }
    if (storage && req.method === "GET") {
      if (!host?.azurite || storage[3] !== host.azurite.accountName) {
        throw new HttpError(404, "ResourceNotFound", `The Resource 'Microsoft.Storage/storageAccounts/${storage[3]}' under resource group '${storage[2]}' was not found.`, true);
      }
      // The account's own endpoints: a client takes the blob endpoint from here, never from a cloud suffix.
      return {
        id: p, name: storage[3], type: "Microsoft.Storage/storageAccounts", location: "westeurope", kind: "StorageV2",
        properties: { provisioningState: "Succeeded", allowSharedKeyAccess: sharedKeyAccess, primaryEndpoints: { blob: `${host.azurite.blobEndpoint}/` } },
      };
    }
    if (keys && req.method === "POST") {
      if (!host?.azurite || keys[3] !== host.azurite.accountName) {
        throw new HttpError(404, "ResourceNotFound", `The Resource 'Microsoft.Storage/storageAccounts/${keys[3]}' under resource group '${keys[2]}' was not found.`, true);
      }
      // With allowSharedKeyAccess=false ARM still lists keys, but storage refuses every request signed
      // with one; a key Azurite does not know stands in for that refusal.
      const value = sharedKeyAccess ? host.azurite.accountKey : Buffer.from("shared key access is disabled on this account").toString("base64");
      return { keys: [{ keyName: "key1", value, permissions: "FULL" }] };
    }
    throw new HttpError(405, "MethodNotAllowed", `The requested method ${req.method} is not allowed for ${p}.`, true);
  };

  /** Resource files into `dir` from their SAS URLs (a task's into its working directory, common ones into its root). */
  const downloadResourceFiles = async (files: unknown, dir: string): Promise<void> => {
    for (const rf of (files ?? []) as { httpUrl?: string; filePath?: string; fileMode?: string }[]) {
      const res = await fetch(String(rf.httpUrl));
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      const dst = normalize(join(dir, String(rf.filePath)));
      if (!dst.startsWith(`${dir}/`)) throw new Error(`filePath ${rf.filePath} escapes the directory`);
      mkdirSync(dirname(dst), { recursive: true });
      writeFileSync(dst, Buffer.from(await res.arrayBuffer()));
      if (rf.fileMode) chmodSync(dst, Number.parseInt(rf.fileMode, 8));
    }
  };

  // ---------- task execution ----------
  const complete = (j: JobRecord, t: TaskRecord, info: Record<string, unknown>) => {
    t.executionInfo = { ...t.executionInfo, ...info, endTime: now() };
    t.state = "completed";
    t.history.push("completed");
    if ((j.body.onAllTasksComplete === "terminatejob" || j.state === "terminating") && [...j.tasks.values()].every((x) => x.state === "completed")) {
      j.state = "completed";
      j.terminateReason ??= "AllTasksComplete";
    }
  };
  const ended = { category: "usererror", code: "TaskEnded", message: "Task Was Ended by User Request" };

  const execute = async (a: BatchAccountOptions, j: JobRecord, t: TaskRecord) => {
    const poolInfo = j.body.poolInfo as { poolId?: string; autoPoolSpecification?: unknown };
    // A job on a pool that does not exist keeps its tasks active, as Batch does.
    while (poolInfo.poolId && !a.pools?.some((p) => p.id === poolInfo.poolId)) {
      if (closed || t.terminateRequested) return complete(j, t, { result: "failure", failureInfo: ended });
      await sleep(stepMs);
    }
    await sleep(poolInfo.autoPoolSpecification ? stepMs * 2 : stepMs);
    if (closed || t.terminateRequested) return complete(j, t, { result: "failure", failureInfo: ended });
    t.state = "preparing";
    t.history.push("preparing");
    const wd = join(t.dir, "wd");
    mkdirSync(wd, { recursive: true });
    const downloadFailed = (e: unknown) => complete(j, t, { result: "failure", failureInfo: { category: "usererror", code: "BlobDownloadMiscError", message: `Miscellaneous error encountered while downloading one of the specified Azure Blob(s): ${(e as Error).message}` } });
    try {
      await downloadResourceFiles(t.body.resourceFiles, wd);
    } catch (e) {
      return downloadFailed(e);
    }
    const argv = splitCommandLine(String(t.body.commandLine ?? ""));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: wd, LANG: "C.UTF-8",
      AZ_BATCH_ACCOUNT_NAME: a.name, AZ_BATCH_JOB_ID: j.id, AZ_BATCH_TASK_ID: t.id, AZ_BATCH_NODE_ID: "tvmps_emulator_0",
      AZ_BATCH_TASK_DIR: t.dir, AZ_BATCH_TASK_WORKING_DIR: wd,
    };
    for (const s of (t.body.environmentSettings ?? []) as { name: string; value?: string }[]) env[s.name] = s.value ?? "";
    // A multi-instance task: every instance (node) gets the common resource files in its task root
    // directory and runs the coordination command, then the primary runs the command line; the
    // task's stdout and exit code are the primary's. The emulator runs the instances on this
    // machine, one after another, with the host list Batch gives them; each has its own task
    // directory and shared directory (on Batch AZ_BATCH_TASK_SHARED_DIR is the same path on every
    // node, on different machines; here the paths must differ).
    const multi = t.body.multiInstanceSettings as { numberOfInstances?: number; coordinationCommandLine?: string; commonResourceFiles?: unknown } | undefined;
    if (multi) {
      const hosts = Array.from({ length: multi.numberOfInstances ?? 1 }, (_, i) => `10.0.0.${i + 4}`);
      Object.assign(env, { AZ_BATCH_HOST_LIST: hosts.join(","), AZ_BATCH_NODE_LIST: hosts.join(";"), AZ_BATCH_MASTER_NODE: `${hosts[0]}:6000`, AZ_BATCH_IS_CURRENT_NODE_MASTER: "true" });
      t.instanceDirs = hosts.map((_, i) => (i === 0 ? t.dir : join(t.dir, `subtask-${i}`)));
      for (const [i, taskDir] of t.instanceDirs.entries()) {
        const node = { AZ_BATCH_TASK_DIR: taskDir, AZ_BATCH_TASK_WORKING_DIR: join(taskDir, "wd"), AZ_BATCH_TASK_SHARED_DIR: join(taskDir, "shared"), AZ_BATCH_IS_CURRENT_NODE_MASTER: String(i === 0) };
        for (const dir of [node.AZ_BATCH_TASK_WORKING_DIR, node.AZ_BATCH_TASK_SHARED_DIR]) mkdirSync(dir, { recursive: true });
        try {
          await downloadResourceFiles(multi.commonResourceFiles, taskDir);
        } catch (e) {
          return downloadFailed(e);
        }
        const coord = splitCommandLine(String(multi.coordinationCommandLine ?? ""));
        const rc = await new Promise<number>((resolve) => {
          const c = spawn(coord[0]!, coord.slice(1), { cwd: node.AZ_BATCH_TASK_WORKING_DIR, env: { ...env, ...node }, stdio: "ignore" });
          c.once("error", () => resolve(127));
          c.once("close", (code) => resolve(code ?? 1));
        });
        if (rc !== 0) return complete(j, t, { result: "failure", exitCode: rc, failureInfo: { category: "usererror", code: "FailureExitCode", message: "The coordination command exited with an exit code representing a failure" } });
      }
      Object.assign(env, { AZ_BATCH_TASK_SHARED_DIR: join(t.dir, "shared"), AZ_BATCH_IS_CURRENT_NODE_MASTER: "true" });
    }
    t.state = "running";
    t.history.push("running");
    t.executionInfo = { startTime: now(), retryCount: 0, requeueCount: 0 };
    const stdout = createWriteStream(join(t.dir, "stdout.txt"));
    const stderr = createWriteStream(join(t.dir, "stderr.txt"));
    const child = spawn(argv[0]!, argv.slice(1), { cwd: wd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    t.child = child;
    child.stdout?.pipe(stdout);
    child.stderr?.pipe(stderr);
    const limit = /^PT(\d+)S$/.exec(String((t.body.constraints as { maxWallClockTime?: string } | undefined)?.maxWallClockTime ?? ""));
    let timedOut = false;
    const killer = limit ? setTimeout(() => { timedOut = true; killGroup(child.pid); }, Number(limit[1]) * 1000) : undefined;
    const code: number = await new Promise((resolve) => {
      child.once("error", () => resolve(127));
      child.once("close", (c, sig) => resolve(c ?? (sig ? 137 : 1)));
    });
    if (killer) clearTimeout(killer);
    t.child = undefined;
    await Promise.all([new Promise((r) => stdout.end(r)), new Promise((r) => stderr.end(r))]);
    if (t.terminateRequested) return complete(j, t, { result: "failure", failureInfo: ended });
    if (timedOut) return complete(j, t, { result: "failure", failureInfo: { category: "usererror", code: "MaxWallClockTimeExceeded", message: "The task exceeded its maximum wall clock time" } });
    complete(j, t, code === 0
      ? { exitCode: 0, result: "success" }
      : { exitCode: code, result: "failure", failureInfo: { category: "usererror", code: "FailureExitCode", message: "The task exited with an exit code representing a failure" } });
  };

  // ---------- data plane ----------
  const taskView = (t: TaskRecord, a: string, j: JobRecord) => ({
    id: t.id, url: `${host?.url}/batch/${a}/jobs/${j.id}/tasks/${t.id}`, eTag: `0x${t.history.length}`,
    creationTime: t.creationTime, state: t.state, commandLine: t.body.commandLine, displayName: t.body.displayName,
    resourceFiles: t.body.resourceFiles, environmentSettings: t.body.environmentSettings, constraints: t.body.constraints,
    userIdentity: t.body.userIdentity, multiInstanceSettings: t.body.multiInstanceSettings,
    executionInfo: t.executionInfo,
    ...(t.state === "running" || t.state === "completed" ? { nodeInfo: { poolId: (j.body.poolInfo as { poolId?: string }).poolId ?? `aml_${j.id}`, nodeId: "tvmps_emulator_0" } } : {}),
  });

  const dataPlane = async (a: BatchAccountOptions, req: ServiceRequest, path: string, res: ServerResponse): Promise<{ status: number; body?: unknown }> => {
    const v = req.url.searchParams.get("api-version");
    if (!v) throw new HttpError(400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified.");
    if (!DATA_VERSIONS.has(v)) throw new HttpError(400, "InvalidQueryParameterValue", `Value for one of the query parameters specified in the request URI is invalid: api-version=${v}`);
    conform(guard.operation(req.method, path), req, false);
    const body = req.body ? JSON.parse(req.body) as Record<string, unknown> : {};
    const seg = path.split("/").filter(Boolean).map(decodeURIComponent);
    const job = (id: string) => {
      const j = jobs.get(jobKey(a.name, id));
      if (!j) throw new HttpError(404, "JobNotFound", "The specified job does not exist.");
      return j;
    };
    const task = (j: JobRecord, id: string) => {
      const t = j.tasks.get(id.toLowerCase());
      if (!t) throw new HttpError(404, "TaskNotFound", "The specified task does not exist.");
      return t;
    };
    if (seg[0] !== "jobs") throw new HttpError(404, "ResourceNotFound", "The specified resource does not exist.");
    if (seg.length === 1 && req.method === "POST") {
      const id = String(body.id ?? "");
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(400, "InvalidPropertyValue", "The value provided for one of the properties in the request body is invalid: id");
      const pi = body.poolInfo as { poolId?: string; autoPoolSpecification?: unknown } | undefined;
      if (!pi || (!pi.poolId && !pi.autoPoolSpecification)) throw new HttpError(400, "MissingRequiredProperty", "A required property was not specified in the request body: poolInfo");
      if (jobs.has(jobKey(a.name, id))) throw new HttpError(409, "JobExists", "The specified job already exists.");
      jobs.set(jobKey(a.name, id), { id, account: a.name, body, state: "active", tasks: new Map(), creationTime: now() });
      return { status: 201 };
    }
    const j = job(seg[1] ?? "");
    if (seg.length === 2) {
      if (req.method === "GET") return { status: 200, body: { id: j.id, state: j.state, creationTime: j.creationTime, poolInfo: j.body.poolInfo, onAllTasksComplete: j.body.onAllTasksComplete ?? "noaction", metadata: j.body.metadata, executionInfo: { startTime: j.creationTime, ...(j.terminateReason ? { terminateReason: j.terminateReason } : {}) } } };
      if (req.method === "DELETE") {
        for (const t of j.tasks.values()) { t.terminateRequested = true; killGroup(t.child?.pid); }
        jobs.delete(jobKey(a.name, j.id));
        setTimeout(() => { for (const t of j.tasks.values()) rmSync(t.dir, { recursive: true, force: true }); }, stepMs * 4);
        return { status: 202 };
      }
    }
    if (seg.length === 3 && seg[2] === "terminate" && req.method === "POST") {
      if (j.state === "completed") throw new HttpError(409, "JobCompleted", "The specified job is already in a completed state.");
      j.terminateReason = String(body.terminateReason ?? "UserTerminate");
      j.state = "terminating";
      const active = [...j.tasks.values()].filter((t) => t.state !== "completed");
      for (const t of active) { t.terminateRequested = true; killGroup(t.child?.pid); }
      if (active.length === 0) j.state = "completed";
      return { status: 202 };
    }
    if (seg[2] !== "tasks") throw new HttpError(404, "ResourceNotFound", "The specified resource does not exist.");
    if (seg.length === 3 && req.method === "POST") {
      if (j.state !== "active") throw new HttpError(409, j.state === "completed" ? "JobCompleted" : "JobNotActive", `The specified job is ${j.state}.`);
      const id = String(body.id ?? "");
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(400, "InvalidPropertyValue", "The value provided for one of the properties in the request body is invalid: id");
      if (!body.commandLine) throw new HttpError(400, "MissingRequiredProperty", "A required property was not specified in the request body: commandLine");
      if (j.tasks.has(id.toLowerCase())) throw new HttpError(409, "TaskExists", "The specified task already exists.");
      const t: TaskRecord = { id, body, state: "active", dir: mkdtempSync(join(root, `${j.id}-${id}-`)), terminateRequested: false, executionInfo: { retryCount: 0, requeueCount: 0 }, history: ["active"], creationTime: now() };
      j.tasks.set(id.toLowerCase(), t);
      void execute(a, j, t).catch((e: unknown) => complete(j, t, { result: "failure", failureInfo: { category: "servererror", code: "InternalError", message: String(e) } }));
      return { status: 201 };
    }
    if (seg.length === 3 && req.method === "GET") return { status: 200, body: { value: [...j.tasks.values()].map((t) => taskView(t, a.name, j)) } };
    const t = task(j, seg[3] ?? "");
    if (seg.length === 4 && req.method === "GET") return { status: 200, body: taskView(t, a.name, j) };
    if (seg.length === 5 && seg[4] === "terminate" && req.method === "POST") {
      if (t.state !== "completed") { t.terminateRequested = true; killGroup(t.child?.pid); }
      return { status: 204 };
    }
    if (seg.length === 6 && seg[4] === "files" && (req.method === "GET" || req.method === "HEAD")) {
      const file = join(t.dir, seg[5]!);
      if (!["stdout.txt", "stderr.txt"].includes(seg[5]!) || !existsSync(file)) throw new HttpError(404, "FileNotFound", "The specified file does not exist.");
      const data = readFileSync(file);
      let slice = data;
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers["ocp-range"] ?? ""));
      if (range) slice = data.subarray(Number(range[1]), range[2] ? Number(range[2]) + 1 : data.length);
      res.writeHead(200, {
        "Content-Type": "application/octet-stream", "Content-Length": String(req.method === "HEAD" ? data.length : slice.length),
        "ocp-batch-file-isdirectory": "false", "ocp-creation-time": new Date(statSync(file).birthtimeMs).toUTCString(),
      });
      res.end(req.method === "HEAD" ? undefined : slice);
      return { status: -1 };
    }
    throw new HttpError(405, "UnsupportedHttpVerb", `The resource doesn't support the specified HTTP verb ${req.method}.`);
  };

  const errorBody = (arm: boolean) => (code: string, message: string) => (arm
    ? { error: { code, message } }
    : { "odata.metadata": `${host?.url}/batch/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element`, code, message: { lang: "en-US", value: `${message}\nRequestId:${randomUUID()}\nTime:${now()}` } });

  const reply = (res: ServerResponse, answer: { status: number; body?: unknown }, arm: boolean, op?: Operation) => {
    const { status, body } = guard.answer(op, { status: answer.status, headers: {}, body: answer.body }, errorBody(arm));
    const headers: Record<string, string> = { "request-id": randomUUID(), "client-request-id": randomUUID() };
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, { ...headers, "Content-Type": arm ? "application/json; charset=utf-8" : "application/json;odata=minimalmetadata" });
    res.end(JSON.stringify(body));
  };

  return {
    start: (h) => { host = h; },
    async handle(req, res) {
      const p = req.url.pathname;
      const isArm = /\/providers\/Microsoft\.(Batch|Storage)\//i.test(p) && p.startsWith("/subscriptions/");
      const dp = /^\/batch\/([^/]+)(\/.*)?$/.exec(p);
      if (!isArm && !dp) return false;
      const op = guard.operation(req.method, isArm ? p : dp![2] ?? "/");
      try {
        const authError = host!.bearerError(req.headers.authorization, isArm ? ARM_AUDIENCE : BATCH_AUDIENCE);
        if (authError) throw new HttpError(401, isArm ? authError.split(":")[0]! : "AuthenticationFailed", isArm ? authError : `Server failed to authenticate the request. ${authError}`, isArm);
        if (isArm) {
          reply(res, { status: 200, body: arm(req, op) }, true, op);
          return true;
        }
        const a = accounts.get(dp![1]!.toLowerCase());
        if (!a) throw new HttpError(404, "AccountNotFound", "The specified account does not exist.");
        const r = await dataPlane(a, req, dp![2] ?? "/", res);
        if (r.status >= 0) reply(res, r, false, op);
      } catch (e) {
        const err = e instanceof HttpError ? e : new HttpError(500, "InternalError", (e as Error).message);
        reply(res, { status: err.status, body: errorBody(err.arm || isArm)(err.code, err.message) }, err.arm || isArm, op);
      }
      return true;
    },
    get contractViolations() { return guard.violations; },
    async close() {
      closed = true;
      for (const j of jobs.values()) for (const t of j.tasks.values()) killGroup(t.child?.pid);
      rmSync(root, { recursive: true, force: true });
    },
    task: (account, jobId, taskId) => {
      const t = jobs.get(jobKey(account, jobId))?.tasks.get(taskId.toLowerCase());
      return t ? { state: t.state, executionInfo: t.executionInfo, history: [...t.history], body: t.body, ...(t.instanceDirs ? { instanceDirs: [...t.instanceDirs] } : {}) } : undefined;
    },
    job: (account, jobId) => {
      const j = jobs.get(jobKey(account, jobId));
      return j ? { state: j.state, body: j.body, terminateReason: j.terminateReason } : undefined;
    },
    jobIds: (account) => [...jobs.values()].filter((j) => j.account.toLowerCase() === account.toLowerCase()).map((j) => j.id),
  };
}

/** Ends a task's processes: see killTree (no signal or grace period is documented for it). */
const killGroup = killTree;
