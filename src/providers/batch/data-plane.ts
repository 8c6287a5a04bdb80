import { bearerTokenAuthenticationPolicy } from "@azure/core-rest-pipeline";
import type { TokenCredential } from "@azure/identity";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { parseRetryAfterMs } from "../../runtime/errors.js";
import { parseJson, RestClient, RestNetworkError, type RestResponse } from "../shared/rest.js";

/** Error answer of the Batch service: `{code, message: {value}}` plus the HTTP status. */
export class BatchServiceError extends Error {
  override readonly name = "BatchServiceError";
  constructor(readonly status: number, readonly code: string, message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

export type BatchTaskState = "active" | "preparing" | "running" | "completed";

export interface BatchTask {
  readonly id: string;
  readonly state: BatchTaskState;
  readonly executionInfo?: {
    readonly exitCode?: number;
    readonly result?: "success" | "failure";
    readonly startTime?: string;
    readonly endTime?: string;
    readonly retryCount?: number;
    readonly failureInfo?: { readonly category?: string; readonly code?: string; readonly message?: string };
  };
  readonly nodeInfo?: { readonly poolId?: string; readonly nodeId?: string };
}

/**
 * The Batch data-plane calls the executor needs (jobs, tasks, task files), over REST with an
 * Entra token for the Batch audience. One instance per (account endpoint, credential).
 */
export class BatchDataPlane {
  private readonly rest: RestClient;

  constructor(credential: TokenCredential, private readonly endpoint: string, private readonly opts: { scope: string; apiVersion: string; caBundlePath?: string }) {
    this.rest = new RestClient({
      caBundlePath: opts.caBundlePath,
      policies: [bearerTokenAuthenticationPolicy({ credential, scopes: [opts.scope] })],
    });
  }

  private url(path: string): string {
    const base = /^https?:\/\//.test(this.endpoint) ? this.endpoint : `https://${this.endpoint}`;
    return `${base.replace(/\/+$/, "")}${path}?api-version=${encodeURIComponent(this.opts.apiVersion)}`;
  }

  private async call(method: "GET" | "POST" | "DELETE" | "HEAD", path: string, json?: unknown, headers: Record<string, string> = {}): Promise<RestResponse> {
    const res = await this.rest.send({
      method, url: this.url(path), ...(json !== undefined ? { json } : {}),
      headers: { ...(json !== undefined ? { "Content-Type": "application/json; odata=minimalmetadata" } : {}), ...headers },
    });
    if (res.status < 400) return res;
    const err = parseJson<{ code?: string; message?: { value?: string } | string }>(res.text);
    const message = typeof err?.message === "string" ? err.message : err?.message?.value;
    throw new BatchServiceError(res.status, err?.code ?? `HTTP${res.status}`, (message ?? res.text.slice(0, 300)).split("\n")[0] ?? "", parseRetryAfterMs(res.headers["retry-after"]));
  }

  /** Adds a job; false when a job of that id exists already (a repeated submit). */
  async addJob(job: Record<string, unknown>): Promise<boolean> {
    try {
      await this.call("POST", "/jobs", job);
      return true;
    } catch (e) {
      if (e instanceof BatchServiceError && e.code === "JobExists") return false;
      throw e;
    }
  }

  async addTask(jobId: string, task: Record<string, unknown>): Promise<boolean> {
    try {
      await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/tasks`, task);
      return true;
    } catch (e) {
      if (e instanceof BatchServiceError && e.code === "TaskExists") return false;
      throw e;
    }
  }

  async getTask(jobId: string, taskId: string): Promise<BatchTask> {
    const res = await this.call("GET", `/jobs/${encodeURIComponent(jobId)}/tasks/${encodeURIComponent(taskId)}`);
    return JSON.parse(res.text) as BatchTask;
  }

  async terminateTask(jobId: string, taskId: string): Promise<void> {
    await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/tasks/${encodeURIComponent(taskId)}/terminate`);
  }

  async terminateJob(jobId: string, reason: string): Promise<void> {
    await this.call("POST", `/jobs/${encodeURIComponent(jobId)}/terminate`, { terminateReason: reason });
  }

  async deleteJob(jobId: string): Promise<void> {
    await this.call("DELETE", `/jobs/${encodeURIComponent(jobId)}`);
  }

  /** The last `maxBytes` of a task file (HEAD for its size, then one ranged GET); undefined when absent. */
  async taskFileTail(jobId: string, taskId: string, name: string, maxBytes: number): Promise<string | undefined> {
    const path = `/jobs/${encodeURIComponent(jobId)}/tasks/${encodeURIComponent(taskId)}/files/${name}`;
    try {
      const head = await this.call("HEAD", path);
      const size = Number(head.headers["content-length"] ?? 0);
      if (size === 0) return "";
      const start = Math.max(0, size - maxBytes);
      const res = await this.call("GET", path, undefined, { "ocp-range": `bytes=${start}-${size - 1}`, Accept: "application/octet-stream" });
      return start > 0 ? res.text.slice(res.text.indexOf("\n") + 1) : res.text;
    } catch (e) {
      if (isBatchNotFound(e)) return undefined;
      throw e;
    }
  }
}

export const isBatchNotFound = (e: unknown): boolean => e instanceof BatchServiceError && e.status === 404;

/** Batch data-plane failures → runtime error classes. */
export function classifyBatchError(e: unknown, what: string): Error {
  if (e instanceof TerminalError || e instanceof TransientError) return e;
  if (e instanceof RestNetworkError) {
    return new TransientError(`${what}: Batch account unreachable: ${e.message}`, 30_000, { cause: e, reason: TargetReason.Unreachable });
  }
  if (e instanceof BatchServiceError) {
    const text = `${what}: ${e.code}: ${e.message}`;
    if (e.status === 401) return new TerminalError(text, TargetReason.AuthenticationFailed, { cause: e });
    if (e.status === 403) return new TerminalError(`${text} (grant the identity a Batch data-plane role, e.g. Azure Batch Job Submitter)`, TargetReason.AuthorizationFailed, { cause: e });
    if (e.status === 429) return new TransientError(text, e.retryAfterMs ?? 10_000, { cause: e, reason: TargetReason.Throttled });
    if (e.status >= 500 || e.status === 409) return new TransientError(text, e.retryAfterMs, { cause: e, reason: TargetReason.AzureError });
    return new TerminalError(text, TargetReason.AzureError, { cause: e });
  }
  const name = (e as { name?: string } | undefined)?.name;
  if (name === "CredentialUnavailableError") {
    // Entra unreachable (MSAL network_error) or no credential source yet: retried, not a failure.
    return new TransientError(`${what}: no Batch token yet: ${(e as Error).message.split("\n")[0]}`, 30_000, { cause: e, reason: TargetReason.AuthenticationFailed });
  }
  if (name === "AuthenticationError") {
    return new TerminalError(`${what}: no Batch token: ${(e as Error).message.split("\n")[0]}`, TargetReason.AuthenticationFailed, { cause: e });
  }
  return new TransientError(`${what}: ${(e as Error)?.message ?? String(e)}`, undefined, { cause: e, reason: TargetReason.AzureError });
}
