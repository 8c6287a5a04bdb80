import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Operation } from "../contracts/index.js";
import { ContractGuard } from "./contract-guard.js";
import { killTree } from "./process-tree.js";
import { WorkspaceError, WorkspaceTree } from "./databricks-workspace.js";
import { secretScopes } from "./databricks-secrets.js";
import type { EmulatedService, ServiceHost, ServiceRequest } from "./emulator.js";

/**
 * Azure Databricks workspace REST, served by the emulator under /databricks/<workspace>: the slice
 * the operator uses (SCIM Me, clusters/get, Workspace files import/mkdirs/delete, DBFS, Jobs 2.1
 * runs/submit|get|get-output|cancel). Like the service: bearer auth with a personal access token
 * or a Microsoft Entra token for the Azure Databricks resource (403 "Invalid access token" on
 * anything else), no DBFS root unless the workspace has one (new workspaces do not),
 * `{error_code, message}` error bodies, 400 INVALID_PARAMETER_VALUE for
 * unknown run ids, idempotency_token dedup, life_cycle_state PENDING → RUNNING → TERMINATING →
 * TERMINATED with result_state, and get-output refusing multi-task parent runs. The python_file
 * really runs with the machine's python3, so logs and exit status are real.
 */

export interface DatabricksWorkspaceOptions {
  readonly name: string;
  readonly token: string;
  readonly userName?: string;
  /** Ids of all-purpose clusters that exist (state RUNNING). */
  readonly clusters?: readonly string[];
  /** The workspace still has a DBFS root (older workspaces). Default false, as for new workspaces. */
  readonly dbfsRoot?: boolean;
}

/** Application id of the Azure Databricks resource: the audience of Entra tokens for a workspace. */
export const AZURE_DATABRICKS_RESOURCE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";

type LifeCycle = "PENDING" | "RUNNING" | "TERMINATING" | "TERMINATED" | "INTERNAL_ERROR";

interface RunRecord {
  runId: number;
  taskRunId: number;
  ws: string;
  body: Record<string, unknown>;
  life: LifeCycle;
  result?: "SUCCESS" | "FAILED" | "CANCELED" | "TIMEDOUT";
  stateMessage: string;
  logs: string;
  error?: string;
  exitCode?: number;
  child?: ChildProcess;
  cancelRequested: boolean;
  history: string[];
  startTime: number;
  endTime?: number;
}

export interface DatabricksEmulator extends EmulatedService {
  /** https://127.0.0.1:<port>/databricks/<name> once the emulator started. */
  workspaceUrl(name: string): string;
  run(runId: number): { life: LifeCycle; result?: string; logs: string; exitCode?: number; history: string[]; body: Record<string, unknown> } | undefined;
  runIds(): number[];
  dbfsFile(workspace: string, path: string): Buffer | undefined;
  /** Keys stored in a secret scope of a workspace (values stay write-only). */
  secretKeys(workspace: string, scope: string): string[];
  /** A file in the workspace tree (Workspace files), or undefined. */
  workspaceFile(workspace: string, path: string): Buffer | undefined;
}

class DbError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const TERMINAL: ReadonlySet<LifeCycle> = new Set(["TERMINATED", "INTERNAL_ERROR"]);
const DBFS_LIMIT = 1024 * 1024;

export function databricksService(opts: { workspaces: readonly DatabricksWorkspaceOptions[]; stepMs?: number }): DatabricksEmulator {
  const stepMs = opts.stepMs ?? 150;
  const workspaces = new Map(opts.workspaces.map((w) => [w.name, w]));
  const dbfs = new Map<string, Map<string, Buffer>>(opts.workspaces.map((w) => [w.name, new Map()]));
  const trees = new Map(opts.workspaces.map((w) => [w.name, new WorkspaceTree(w.userName ?? "operator@example.com")]));
  const streams = new Map<number, { ws: string; path: string; chunks: Buffer[] }>();
  const runs = new Map<number, RunRecord>();
  const byTaskRun = new Map<number, RunRecord>();
  const tokens = new Map<string, number>();
  const secrets = secretScopes();
  let host: ServiceHost | undefined;
  let nextId = 1000 + Math.floor(Math.random() * 1000);
  let closed = false;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const normPath = (p: unknown): string => {
    const s = String(p ?? "").replace(/^dbfs:/, "");
    if (!s.startsWith("/")) throw new DbError(400, "INVALID_PARAMETER_VALUE", `Path must be absolute: ${s}`);
    return s.replace(/\/+$/, "") || "/";
  };
  /** DBFS paths outside Unity Catalog volumes live on the DBFS root, which new workspaces do not have. */
  const dbfsAllowed = (ws: DatabricksWorkspaceOptions, p: string): void => {
    if (!ws.dbfsRoot && !p.startsWith("/Volumes/")) {
      throw new DbError(403, "PERMISSION_DENIED", `Public DBFS root is disabled. Access is denied on path: ${p}`);
    }
  };
  /** The python_file of a task: a workspace path (source WORKSPACE) or a dbfs:/ URI. */
  const readPythonFile = (ws: DatabricksWorkspaceOptions, file: string): Buffer | undefined => {
    if (file.startsWith("dbfs:")) {
      const p = normPath(file);
      return !ws.dbfsRoot && !p.startsWith("/Volumes/") ? undefined : dbfs.get(ws.name)!.get(p);
    }
    return trees.get(ws.name)!.read(file);
  };

  const setLife = (r: RunRecord, life: LifeCycle, result?: RunRecord["result"], message = "") => {
    r.life = life;
    r.result = result;
    r.stateMessage = message;
    r.history.push(result ? `${life}/${result}` : life);
    if (TERMINAL.has(life)) r.endTime = Date.now();
  };

  const execute = async (r: RunRecord) => {
    const task = (r.body.tasks as Record<string, unknown>[])[0]!;
    const py = task.spark_python_task as { python_file?: string; parameters?: string[] };
    await sleep(stepMs * 2); // the job cluster starts
    if (r.cancelRequested || closed) return setLife(r, "TERMINATED", "CANCELED", "Run cancelled.");
    const file = readPythonFile(workspaces.get(r.ws)!, String(py.python_file));
    if (!file) {
      r.error = `FileNotFoundError: ${py.python_file} does not exist`;
      return setLife(r, "TERMINATED", "FAILED", "Workload failed, see run output for details");
    }
    let clusterEnv: Record<string, string>;
    try {
      clusterEnv = secrets.resolve(r.ws, (task.new_cluster as { spark_env_vars?: Record<string, string> } | undefined)?.spark_env_vars);
    } catch (e) {
      return setLife(r, "INTERNAL_ERROR", undefined, (e as Error).message);
    }
    const dir = mkdtempSync(join(tmpdir(), `dbx-run-${r.runId}-`));
    const shim = task.existing_cluster_id ? secrets.dbutilsShim(r.ws) : undefined;
    writeFileSync(join(dir, "main.py"), file);
    setLife(r, "RUNNING", undefined, "In run");
    const child = spawn(host?.python ?? "python3", [join(dir, "main.py"), ...(py.parameters ?? [])], {
      cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"],
      env: { ...clusterEnv, ...(shim ? { PYTHONPATH: shim } : {}), PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, LANG: "C.UTF-8", PYTHONUNBUFFERED: "1", DATABRICKS_RUNTIME_VERSION: "15.4" },
    });
    r.child = child;
    const append = (b: Buffer) => { r.logs += b.toString(); };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    const timeout = Number(r.body.timeout_seconds ?? 0);
    let timedOut = false;
    const killer = timeout > 0 ? setTimeout(() => { timedOut = true; killGroup(child.pid); }, timeout * 1000) : undefined;
    const code: number = await new Promise((resolve) => child.once("close", (c, sig) => resolve(c ?? (sig ? 137 : 1))));
    if (killer) clearTimeout(killer);
    r.child = undefined;
    rmSync(dir, { recursive: true, force: true });
    if (shim) rmSync(shim, { recursive: true, force: true });
    setLife(r, "TERMINATING", undefined, "Terminating the job cluster");
    await sleep(stepMs);
    if (r.cancelRequested) return setLife(r, "TERMINATED", "CANCELED", "Run cancelled.");
    if (timedOut) return setLife(r, "TERMINATED", "TIMEDOUT", `Run timed out after ${timeout} seconds`);
    r.exitCode = code;
    if (code === 0) return setLife(r, "TERMINATED", "SUCCESS", "");
    r.error = `SystemExit: ${code}`;
    setLife(r, "TERMINATED", "FAILED", "Workload failed, see run output for details");
  };

  const runView = (r: RunRecord, ws: DatabricksWorkspaceOptions) => {
    const state = { life_cycle_state: r.life, ...(r.result ? { result_state: r.result } : {}), state_message: r.stateMessage, user_cancelled_or_timedout: r.result === "CANCELED" || r.result === "TIMEDOUT" };
    const task = (r.body.tasks as Record<string, unknown>[])[0]!;
    return {
      job_id: r.runId, run_id: r.runId, number_in_job: r.runId, creator_user_name: ws.userName ?? "operator@example.com",
      run_name: r.body.run_name ?? "Untitled", run_type: "SUBMIT_RUN", state, start_time: r.startTime,
      ...(r.endTime ? { end_time: r.endTime } : {}),
      run_page_url: `${host?.url}/databricks/${ws.name}/?o=0#job/${r.runId}/run/${r.runId}`,
      tasks: [{ run_id: r.taskRunId, task_key: task.task_key, state, spark_python_task: task.spark_python_task, start_time: r.startTime, attempt_number: 0 }],
    };
  };

  const route = async (ws: DatabricksWorkspaceOptions, { method, path, q, body }: { method: string; path: string; q: URLSearchParams; body: Record<string, unknown> }): Promise<unknown> => {
    const files = dbfs.get(ws.name)!;
    const runById = (raw: unknown): RunRecord => {
      const r = runs.get(Number(raw));
      if (!r || r.ws !== ws.name) throw new DbError(400, "INVALID_PARAMETER_VALUE", `Run ${String(raw)} does not exist.`);
      return r;
    };
    const secretAnswer = secrets.route(ws.name, { method, path, q, body }, (status, code, message) => { throw new DbError(status, code, message); });
    if (secretAnswer !== undefined) return secretAnswer;
    const key = `${method} ${path}`;
    switch (key) {
      case "GET /api/2.0/preview/scim/v2/Me":
        return { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id: "4242", userName: ws.userName ?? "operator@example.com", displayName: "operator", active: true };
      case "GET /api/2.0/clusters/get": {
        const id = q.get("cluster_id") ?? "";
        if (!ws.clusters?.includes(id)) throw new DbError(400, "INVALID_PARAMETER_VALUE", `Cluster ${id} does not exist`);
        return { cluster_id: id, cluster_name: `cluster-${id}`, state: "RUNNING", spark_version: "15.4.x-scala2.12" };
      }
      case "POST /api/2.0/dbfs/put": {
        const p = normPath(body.path);
        dbfsAllowed(ws, p);
        const data = Buffer.from(String(body.contents ?? ""), "base64");
        if (data.length > DBFS_LIMIT) throw new DbError(400, "MAX_BLOCK_SIZE_EXCEEDED", "The contents exceed the 1 MB limit of put; use the streaming API.");
        if (files.has(p) && body.overwrite !== true) throw new DbError(400, "RESOURCE_ALREADY_EXISTS", `A file or directory already exists at the input path ${p}.`);
        files.set(p, data);
        return {};
      }
      case "POST /api/2.0/dbfs/create": {
        const p = normPath(body.path);
        dbfsAllowed(ws, p);
        if (files.has(p) && body.overwrite !== true) throw new DbError(400, "RESOURCE_ALREADY_EXISTS", `A file or directory already exists at the input path ${p}.`);
        const handle = nextId++;
        streams.set(handle, { ws: ws.name, path: p, chunks: [] });
        return { handle };
      }
      case "POST /api/2.0/dbfs/add-block": {
        const s = streams.get(Number(body.handle));
        if (!s || s.ws !== ws.name) throw new DbError(400, "RESOURCE_DOES_NOT_EXIST", `Handle ${String(body.handle)} does not exist.`);
        const data = Buffer.from(String(body.data ?? ""), "base64");
        if (data.length > DBFS_LIMIT) throw new DbError(400, "MAX_BLOCK_SIZE_EXCEEDED", "A block is limited to 1 MB.");
        s.chunks.push(data);
        return {};
      }
      case "POST /api/2.0/dbfs/close": {
        const s = streams.get(Number(body.handle));
        if (!s || s.ws !== ws.name) throw new DbError(400, "RESOURCE_DOES_NOT_EXIST", `Handle ${String(body.handle)} does not exist.`);
        streams.delete(Number(body.handle));
        files.set(s.path, Buffer.concat(s.chunks));
        return {};
      }
      case "POST /api/2.0/dbfs/delete": {
        const p = normPath(body.path);
        dbfsAllowed(ws, p);
        const under = [...files.keys()].filter((f) => f === p || f.startsWith(`${p}/`));
        if (under.length === 0) return {}; // DBFS delete of a missing path succeeds
        if (under.some((f) => f !== p) && body.recursive !== true) throw new DbError(400, "IO_ERROR", `${p} is a non-empty directory; set recursive`);
        for (const f of under) files.delete(f);
        return {};
      }
      case "POST /api/2.1/jobs/runs/submit": {
        const tasks = body.tasks as Record<string, unknown>[] | undefined;
        if (!Array.isArray(tasks) || tasks.length === 0) throw new DbError(400, "INVALID_PARAMETER_VALUE", "At least one task is required.");
        const t = tasks[0]!;
        if (!t.task_key) throw new DbError(400, "INVALID_PARAMETER_VALUE", "Task key must be specified.");
        if (!(t.spark_python_task as { python_file?: string } | undefined)?.python_file) {
          throw new DbError(400, "INVALID_PARAMETER_VALUE", "The emulator runs spark_python_task tasks only; python_file is required.");
        }
        if (!t.existing_cluster_id && !t.new_cluster && !t.job_cluster_key) throw new DbError(400, "INVALID_PARAMETER_VALUE", "One of existing_cluster_id, new_cluster or job_cluster_key must be specified.");
        if (t.existing_cluster_id && !ws.clusters?.includes(String(t.existing_cluster_id))) {
          throw new DbError(400, "INVALID_PARAMETER_VALUE", `Cluster ${String(t.existing_cluster_id)} does not exist`);
        }
        const token = body.idempotency_token ? String(body.idempotency_token) : undefined;
        if (token && token.length > 64) throw new DbError(400, "INVALID_PARAMETER_VALUE", "idempotency_token must be at most 64 characters.");
        const known = token ? tokens.get(`${ws.name}/${token}`) : undefined;
        if (known !== undefined) return { run_id: known };
        const r: RunRecord = {
          runId: nextId++, taskRunId: nextId++, ws: ws.name, body, life: "PENDING", stateMessage: "Waiting for cluster",
          logs: "", cancelRequested: false, history: ["PENDING"], startTime: Date.now(),
        };
        runs.set(r.runId, r);
        byTaskRun.set(r.taskRunId, r);
        if (token) tokens.set(`${ws.name}/${token}`, r.runId);
        void execute(r).catch((e: unknown) => setLife(r, "INTERNAL_ERROR", undefined, String(e)));
        return { run_id: r.runId };
      }
      case "GET /api/2.1/jobs/runs/get":
        return runView(runById(q.get("run_id")), ws);
      case "GET /api/2.1/jobs/runs/get-output": {
        const id = Number(q.get("run_id"));
        if (runs.has(id)) {
          throw new DbError(400, "INVALID_PARAMETER_VALUE", "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.");
        }
        const r = byTaskRun.get(id);
        if (!r || r.ws !== ws.name) throw new DbError(400, "INVALID_PARAMETER_VALUE", `Run ${id} does not exist.`);
        const max = 5 * 1024 * 1024;
        return {
          metadata: runView(r, ws).tasks[0],
          logs: r.logs.length > max ? r.logs.slice(-max) : r.logs,
          logs_truncated: r.logs.length > max,
          ...(r.error ? { error: r.error, error_trace: `Traceback (most recent call last):\n${r.error}` } : {}),
        };
      }
      case "POST /api/2.1/jobs/runs/cancel": {
        const r = runById(body.run_id);
        if (TERMINAL.has(r.life)) return {};
        r.cancelRequested = true;
        if (r.child) {
          r.stateMessage = "Cancelling";
          killGroup(r.child.pid);
        }
        return {};
      }
      case "POST /api/2.0/workspace/mkdirs":
        trees.get(ws.name)!.mkdirs(body.path);
        return {};
      case "POST /api/2.0/workspace/import":
        trees.get(ws.name)!.import(body);
        return {};
      case "POST /api/2.0/workspace/delete":
        trees.get(ws.name)!.delete(body);
        return {};
      default:
        throw new DbError(404, "ENDPOINT_NOT_FOUND", `No API found for '${method} ${path}'`);
    }
  };

  const guard = new ContractGuard("databricks");
  const reply = (res: ServerResponse, answer: number, answerBody: unknown, op?: Operation) => {
    const { status, body } = guard.answer(op, { status: answer, headers: {}, body: answerBody }, (error_code, message) => ({ error_code, message }));
    res.writeHead(status, { "Content-Type": "application/json", "x-databricks-org-id": "0" });
    res.end(JSON.stringify(body));
  };

  return {
    start: (h) => { host = h; },
    async handle(req: ServiceRequest, res: ServerResponse): Promise<boolean> {
      const m = /^\/databricks\/([^/]+)(\/.*)?$/.exec(req.url.pathname);
      if (!m) return false;
      const ws = workspaces.get(m[1]!);
      const op = guard.operation(req.method, m[2] ?? "/");
      try {
        if (!ws) throw new DbError(404, "ENDPOINT_NOT_FOUND", "Workspace not found");
        const auth = req.headers.authorization;
        if (!auth?.startsWith("Bearer ")) throw new DbError(401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.");
        // A personal access token of the workspace, or a Microsoft Entra token for the Azure Databricks resource.
        if (auth.slice(7) !== ws.token && host?.bearerError(auth, AZURE_DATABRICKS_RESOURCE) !== undefined) {
          throw new DbError(403, "PERMISSION_DENIED", "Invalid access token.");
        }
        let body: Record<string, unknown> = {};
        if (req.body) {
          try {
            body = JSON.parse(req.body) as Record<string, unknown>;
          } catch {
            throw new DbError(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request - expected a map");
          }
        }
        const broken = guard.requestError(op, req.url.searchParams, req.body ? body : undefined);
        if (broken) throw new DbError(400, "INVALID_PARAMETER_VALUE", broken);
        reply(res, 200, await route(ws, { method: req.method, path: m[2] ?? "/", q: req.url.searchParams, body }), op);
      } catch (e) {
        if (e instanceof DbError || e instanceof WorkspaceError) reply(res, e.status, { error_code: e.code, message: e.message }, op);
        else reply(res, 500, { error_code: "INTERNAL_ERROR", message: (e as Error).message, request_id: randomUUID() }, op);
      }
      return true;
    },
    get contractViolations() { return guard.violations; },
    async close() {
      closed = true;
      for (const r of runs.values()) killGroup(r.child?.pid);
    },
    workspaceUrl: (name) => `${host?.url ?? ""}/databricks/${name}`,
    run: (id) => {
      const r = runs.get(id);
      return r ? { life: r.life, result: r.result, logs: r.logs, exitCode: r.exitCode, history: [...r.history], body: r.body } : undefined;
    },
    runIds: () => [...runs.keys()],
    dbfsFile: (ws, path) => dbfs.get(ws)?.get(path.replace(/^dbfs:/, "")),
    secretKeys: (ws, scope) => secrets.keys(ws, scope),
    workspaceFile: (ws, path) => trees.get(ws)?.read(path),
  };
}

/** Ends a task's processes: see killTree (no signal or grace period is documented for it). */
const killGroup = killTree;
