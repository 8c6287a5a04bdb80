import type { Counter } from "prom-client";
import { classifyHttpStatus, classifyKubeError, parseStatus } from "./errors.js";

/** The Kubernetes verb of a request (what RBAC and the benchmark count), not the HTTP method. */
export type Verb = "create" | "get" | "list" | "watch" | "update" | "patch" | "delete";

export const METHOD_OF: Record<Verb, "GET" | "POST" | "PUT" | "PATCH" | "DELETE"> = {
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
  /** Accept header; default application/json (metadata-only informers ask for PartialObjectMetadata). */
  accept?: string;
  signal?: AbortSignal;
}

export interface KubeResponse {
  status: number;
  headers: Record<string, string>;
  text(): Promise<string>;
  /** The raw body as it arrives (watch). */
  stream(): AsyncIterable<Uint8Array> | null;
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

  constructor(private readonly counter?: Counter<"method" | "code">, private readonly byKind?: Counter<"verb" | "kind">) {}

  record(verb: Verb, kind: string, code: number | "<error>"): void {
    this.total++;
    this.byVerb.set(verb, (this.byVerb.get(verb) ?? 0) + 1);
    const k = `${verb} ${kind}`;
    this.byVerbAndKind.set(k, (this.byVerbAndKind.get(k) ?? 0) + 1);
    this.counter?.inc({ method: METHOD_OF[verb], code: String(code) });
    this.byKind?.inc({ verb, kind });
  }

  snapshot(): RequestCounts {
    return {
      total: this.total,
      byVerb: Object.fromEntries(this.byVerb),
      byVerbAndKind: Object.fromEntries(this.byVerbAndKind),
    };
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
