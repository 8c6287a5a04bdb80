import { RunReason, TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { parseRetryAfterMs } from "../../runtime/errors.js";
import { parseJson, RestNetworkError, type RestClient, type RestResponse } from "../shared/rest.js";

/** The Workspace API's documented limit on an import's content (10 MB). */
const WORKSPACE_IMPORT_LIMIT = 10 * 1024 * 1024;

/** An error answer of the Databricks REST API: `{error_code, message}` plus the HTTP status. */
export class DatabricksApiError extends Error {
  override readonly name = "DatabricksApiError";
  constructor(readonly status: number, readonly errorCode: string, message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** life_cycle_state / result_state of a run (Jobs API 2.1 RunState). */
export interface DatabricksRunState {
  readonly life_cycle_state?: string;
  readonly result_state?: string;
  readonly state_message?: string;
}

export interface DatabricksRun {
  readonly run_id: number;
  readonly run_name?: string;
  readonly state?: DatabricksRunState;
  readonly run_page_url?: string;
  readonly tasks?: readonly { readonly run_id: number; readonly task_key: string; readonly state?: DatabricksRunState }[];
}

export interface DatabricksRunOutput {
  readonly logs?: string;
  readonly logs_truncated?: boolean;
  readonly error?: string;
  readonly error_trace?: string;
  readonly metadata?: DatabricksRun;
}

/**
 * The Databricks workspace REST calls the provider uses (Jobs API 2.1, Workspace/SCIM/Clusters 2.0),
 * authenticated with a personal access token. One instance per (workspace URL, token).
 */
export class DatabricksApi {
  constructor(private readonly rest: RestClient, private readonly workspaceUrl: string, private readonly token: string) {}

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown, query?: Record<string, string>): Promise<T> {
    const qs = query ? `?${new URLSearchParams(query).toString()}` : "";
    const url = `${this.workspaceUrl.replace(/\/+$/, "")}${path}${qs}`;
    const res: RestResponse = await this.rest.send({
      method, url, headers: { Authorization: `Bearer ${this.token}` }, ...(body !== undefined ? { json: body } : {}),
    });
    if (res.status >= 200 && res.status < 300) return (parseJson<T>(res.text) ?? {}) as T;
    const err = parseJson<{ error_code?: string; message?: string; error?: string }>(res.text);
    throw new DatabricksApiError(
      res.status, err?.error_code ?? `HTTP_${res.status}`,
      err?.message ?? err?.error ?? (res.text.slice(0, 300) || `HTTP ${res.status}`),
      parseRetryAfterMs(res.headers["retry-after"]),
    );
  }

  /** The identity the token belongs to: the cheapest call that proves the token works. */
  me(): Promise<{ userName?: string; displayName?: string }> {
    return this.call("GET", "/api/2.0/preview/scim/v2/Me");
  }

  getCluster(clusterId: string): Promise<{ cluster_id: string; state?: string; cluster_name?: string }> {
    return this.call("GET", "/api/2.0/clusters/get", undefined, { cluster_id: clusterId });
  }

  /**
   * Writes a workspace file (Workspace API import, format AUTO: a .py file stays a file, not a
   * notebook), creating its folder first and overwriting (the same path always gets the same
   * bytes, so a repeat is harmless). The import limit is 10 MB.
   */
  async writeWorkspaceFile(path: string, content: Buffer): Promise<void> {
    if (content.length > WORKSPACE_IMPORT_LIMIT) {
      throw new TerminalError(`the run's entry file is ${content.length} bytes; a Databricks workspace file holds at most ${WORKSPACE_IMPORT_LIMIT} (shrink the source snapshot)`, RunReason.SubmissionFailed);
    }
    await this.call("POST", "/api/2.0/workspace/mkdirs", { path: path.slice(0, path.lastIndexOf("/")) });
    await this.call("POST", "/api/2.0/workspace/import", { path, content: content.toString("base64"), format: "AUTO", overwrite: true });
  }

  /** Deletes a workspace folder and what it holds; one that is gone already is fine. */
  async deleteWorkspaceFolder(path: string): Promise<void> {
    await this.call("POST", "/api/2.0/workspace/delete", { path, recursive: true });
  }

  async submitRun(body: Record<string, unknown>): Promise<number> {
    const r = await this.call<{ run_id: number }>("POST", "/api/2.1/jobs/runs/submit", body);
    return r.run_id;
  }

  getRun(runId: number): Promise<DatabricksRun> {
    return this.call("GET", "/api/2.1/jobs/runs/get", undefined, { run_id: String(runId) });
  }

  /** Output of one task run (the Jobs API refuses get-output on a multi-task parent run). */
  getRunOutput(taskRunId: number): Promise<DatabricksRunOutput> {
    return this.call("GET", "/api/2.1/jobs/runs/get-output", undefined, { run_id: String(taskRunId) });
  }

  async cancelRun(runId: number): Promise<void> {
    await this.call("POST", "/api/2.1/jobs/runs/cancel", { run_id: runId });
  }

  /** Creates a Databricks-backed secret scope; one that exists already is fine. */
  async ensureSecretScope(scope: string): Promise<void> {
    try {
      await this.call("POST", "/api/2.0/secrets/scopes/create", { scope });
    } catch (e) {
      if (!(e instanceof DatabricksApiError && e.errorCode === "RESOURCE_ALREADY_EXISTS")) throw e;
    }
  }

  async putSecret(scope: string, key: string, value: string): Promise<void> {
    await this.call("POST", "/api/2.0/secrets/put", { scope, key, string_value: value });
  }

  /** Deletes a secret; one that is gone already is fine. */
  async deleteSecret(scope: string, key: string): Promise<void> {
    try {
      await this.call("POST", "/api/2.0/secrets/delete", { scope, key });
    } catch (e) {
      if (!isDatabricksNotFound(e)) throw e;
    }
  }
}

/** Databricks says "does not exist" with 404, or with 400 INVALID_PARAMETER_VALUE for run and cluster ids. */
export const isDatabricksNotFound = (e: unknown): boolean =>
  e instanceof DatabricksApiError
  && (e.status === 404 || e.errorCode === "RESOURCE_DOES_NOT_EXIST" || (e.status === 400 && /does not exist/i.test(e.message)));

/**
 * Databricks answers → runtime error classes. Token problems wait for a human (the Secret
 * watch wakes us); throttling and 5xx retry; an unreachable workspace retries as Unreachable.
 */
export function classifyDatabricksError(e: unknown, what: string): Error {
  if (e instanceof TerminalError || e instanceof TransientError) return e;
  if (e instanceof RestNetworkError) {
    return new TransientError(`${what}: workspace unreachable: ${e.message}`, 30_000, { cause: e, reason: TargetReason.Unreachable });
  }
  if (e instanceof DatabricksApiError) {
    const text = `${what}: ${e.errorCode}: ${e.message}`;
    if (e.status === 401 || e.status === 403) return new TerminalError(text, TargetReason.AuthenticationFailed, { cause: e });
    if (e.status === 429) return new TransientError(text, e.retryAfterMs ?? 10_000, { cause: e, reason: TargetReason.Throttled });
    if (e.status >= 500) return new TransientError(text, e.retryAfterMs, { cause: e, reason: TargetReason.AzureError });
    return new TerminalError(text, TargetReason.AzureError, { cause: e });
  }
  return new TransientError(`${what}: ${(e as Error)?.message ?? String(e)}`, undefined, { cause: e, reason: TargetReason.Unreachable });
}
