import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import {
  createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest,
  type HttpClient, type Pipeline, type PipelinePolicy,
} from "@azure/core-rest-pipeline";

/**
 * A small JSON-over-HTTPS caller for the REST APIs the SDKs do not cover (Databricks, the Batch
 * data plane). It rides on @azure/core-rest-pipeline so TLS (extra CA bundle), user agent and
 * auth policies work exactly as for the ARM clients, with retries off: the work queue is the
 * only retry layer.
 */
export interface RestResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

export interface RestRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "PATCH";
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly timeoutMs?: number;
  readonly abortSignal?: AbortSignal;
}

/** The request never got an HTTP answer (DNS, refused, TLS, timeout). */
export class RestNetworkError extends Error {
  override readonly name = "RestNetworkError";
}

export interface RestClientOptions {
  /** PEM file trusted in addition to Node's roots. */
  readonly caBundlePath?: string;
  /** Extra policies, e.g. bearerTokenAuthenticationPolicy. */
  readonly policies?: readonly PipelinePolicy[];
  readonly defaultTimeoutMs?: number;
}

export class RestClient {
  private readonly pipeline: Pipeline;
  private readonly http: HttpClient = createDefaultHttpClient();
  private readonly timeoutMs: number;

  constructor(opts: RestClientOptions = {}) {
    const ca = opts.caBundlePath ? [...rootCertificates, readFileSync(opts.caBundlePath, "utf8")] : undefined;
    this.pipeline = createPipelineFromOptions({
      retryOptions: { maxRetries: 0 },
      userAgentOptions: { userAgentPrefix: "aml-compute-operator" },
      ...(ca ? { tlsOptions: { ca } } : {}),
    });
    for (const p of opts.policies ?? []) this.pipeline.addPolicy(p);
    this.timeoutMs = opts.defaultTimeoutMs ?? 30_000;
  }

  async send(r: RestRequest): Promise<RestResponse> {
    const headers = createHttpHeaders({ Accept: "application/json", ...(r.headers ?? {}) });
    if (r.json !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    const req = createPipelineRequest({
      url: r.url, method: r.method, headers, timeout: r.timeoutMs ?? this.timeoutMs,
      ...(r.json !== undefined ? { body: JSON.stringify(r.json) } : {}),
      ...(r.abortSignal ? { abortSignal: r.abortSignal } : {}),
    });
    try {
      const res = await this.pipeline.sendRequest(this.http, req);
      return { status: res.status, headers: res.headers.toJSON(), text: res.bodyAsText ?? "" };
    } catch (e) {
      const err = e as { statusCode?: number; message?: string; name?: string };
      // Policies (e.g. the bearer policy's token request) throw their own classified errors.
      if (err.name === "RestError" && err.statusCode === undefined) {
        throw new RestNetworkError(`${r.method} ${redactUrl(r.url)}: ${err.message ?? String(e)}`, { cause: e });
      }
      throw e;
    }
  }
}

/** A URL without its query string (SAS tokens live there) for messages and logs. */
export function redactUrl(url: string): string {
  const i = url.indexOf("?");
  return i < 0 ? url : url.slice(0, i);
}

/** JSON body or undefined when the text is not JSON. */
export function parseJson<T>(text: string): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

