import { IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig } from "@kubernetes/client-node";
import type { Counter } from "prom-client";
import { classifyHttpStatus, classifyKubeError, parseStatus } from "./errors.js";

/** The Kubernetes verb of a request (what RBAC and the benchmark count), not the HTTP method. */
export type Verb = "create" | "get" | "list" | "watch" | "update" | "patch" | "delete";

const METHOD_OF: Record<Verb, "GET" | "POST" | "PUT" | "PATCH" | "DELETE"> = {
  create: "POST", get: "GET", list: "GET", watch: "GET", update: "PUT", patch: "PATCH", delete: "DELETE",
};

export interface KubeRequest {
  verb: Verb;
  /** Kind name for accounting, e.g. "ConfigMap". */
  kind: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface KubeResponse {
  status: number;
  headers: Record<string, string>;
  text(): Promise<string>;
  /** The raw body stream (watch). */
  stream(): ReadableStream<Uint8Array> | null;
}

/** One HTTP round trip to the API server. Implemented over client-node; faked in unit tests. */
export interface Transport {
  /** Sends the request; resolves for every HTTP status (callers decide), rejects on network errors. */
  send(req: KubeRequest): Promise<KubeResponse>;
}

/** Immutable view of request counts: `counts["patch ConfigMap"] === 3`. */
export interface RequestCounts {
  readonly total: number;
  readonly byVerb: Readonly<Record<string, number>>;
  /** Keyed "<verb> <Kind>". */
  readonly byVerbAndKind: Readonly<Record<string, number>>;
}

/**
 * Counts every request by verb and kind (in memory, for the benchmark) and by HTTP method and code
 * in client-go's rest_client_requests_total. Network failures count with code "<error>" as in client-go.
 */
export class RequestCounter {
  private total = 0;
  private readonly byVerb = new Map<string, number>();
  private readonly byVerbAndKind = new Map<string, number>();

  constructor(private readonly counter?: Counter<"method" | "code">) {}

  record(verb: Verb, kind: string, code: number | "<error>"): void {
    this.total++;
    this.byVerb.set(verb, (this.byVerb.get(verb) ?? 0) + 1);
    const k = `${verb} ${kind}`;
    this.byVerbAndKind.set(k, (this.byVerbAndKind.get(k) ?? 0) + 1);
    this.counter?.inc({ method: METHOD_OF[verb], code: String(code) });
  }

  snapshot(): RequestCounts {
    return {
      total: this.total,
      byVerb: Object.fromEntries(this.byVerb),
      byVerbAndKind: Object.fromEntries(this.byVerbAndKind),
    };
  }
}

/**
 * Raw request layer over client-node's own HTTP stack: RequestContext + KubeConfig auth +
 * IsomorphicFetchHttpLibrary (undici). We bypass the generated typed APIs and KubernetesObjectApi
 * because (1) one door makes the per-verb request count exact — KubernetesObjectApi issues hidden
 * discovery GETs; (2) arbitrary kinds, /status, apply-patch and watch streams all share one path;
 * (3) error mapping happens in one place.
 */
export class ClientNodeTransport implements Transport {
  private readonly http = new IsomorphicFetchHttpLibrary();

  constructor(private readonly kubeConfig: KubeConfig, private readonly counter: RequestCounter) {}

  async send(req: KubeRequest): Promise<KubeResponse> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const url = new URL(cluster.server.replace(/\/$/, "") + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), METHOD_OF[req.verb]);
    ctx.setHeaderParam("Accept", "application/json");
    if (req.body !== undefined) {
      ctx.setHeaderParam("Content-Type", req.contentType ?? "application/json");
      ctx.setBody(typeof req.body === "string" ? req.body : JSON.stringify(req.body));
    }
    if (req.signal) ctx.setSignal(req.signal);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    try {
      const res = await this.http.send(ctx).toPromise();
      this.counter.record(req.verb, req.kind, res.httpStatusCode);
      return { status: res.httpStatusCode, headers: res.headers, text: () => res.body.text(), stream: () => res.body.stream() };
    } catch (err) {
      this.counter.record(req.verb, req.kind, "<error>");
      throw err;
    }
  }
}

/** Sends and returns the parsed JSON body of a 2xx; throws the classified error otherwise. */
export async function sendJson<T>(transport: Transport, req: KubeRequest): Promise<T> {
  let res: KubeResponse;
  try {
    res = await transport.send(req);
  } catch (err) {
    throw classifyKubeError(err);
  }
  const text = await res.text();
  if (res.status >= 200 && res.status < 300) return (text ? JSON.parse(text) : {}) as T;
  throw classifyHttpStatus(res.status, parseStatus(text), res.headers["retry-after"]);
}
