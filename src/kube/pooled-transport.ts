import type { KubeConfig } from "@kubernetes/client-node";
import { RequestContext } from "@kubernetes/client-node";
import { Agent, type Dispatcher } from "undici";
import { sleep } from "../runtime/clock.js";
import { TokenBucketRateLimiter } from "../runtime/rate-limiter.js";
import { METHOD_OF, type KubeRequest, type KubeResponse, type RequestCounter, type Transport } from "./transport.js";

export interface PooledTransportOptions {
  /**
   * Client-side request budget (client-go's QPS/Burst): requests beyond `burst` wait for tokens that
   * refill at `qps` per second. Watches and lists count, as in client-go. 0 disables the limit.
   */
  qps?: number;
  burst?: number;
  /** Offer HTTP/2 first in TLS ALPN (default true): all requests, watches included, share one connection. */
  http2?: boolean;
  /** How long authentication headers (bearer tokens from files or exec plugins) are reused. Default 30 s. */
  authCacheMs?: number;
  /** Called with the time a request waited for the rate limiter (ms), for the latency metric. */
  onThrottle?: (waitedMs: number) => void;
  /** Called for every TCP connection opened. */
  onConnect?: () => void;
  /**
   * Requests other than watches in flight at once (default 64); more wait their turn. This keeps a
   * burst (fire-and-forget Events, many workers) below the server's HTTP/2 stream limit (100–250),
   * past which a second connection would be opened.
   */
  maxInFlight?: number;
}

/** A counting semaphore: run() waits while `limit` tasks are running. */
class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** A header value from undici (string | string[]) flattened the way fetch's Headers does. */
const flatten = (headers: Record<string, string | string[] | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(", ") : v]])));

/**
 * The operator's one door to the API server: one undici dispatcher (one HTTP/2 connection, or a
 * keep-alive pool when the server only speaks HTTP/1.1) for every request and watch, behind a
 * client-side token bucket.
 *
 * Why not client-node's own stack: in 2.0.1 `KubeConfig.applySecurityAuthentication` builds a new
 * undici Agent for every request, so each request paid a TCP and TLS handshake and nothing was
 * reused (hundreds of connections per hundred runs). Here the TLS material and proxy settings
 * come from client-node once, and only the authentication headers are refreshed per request.
 */
export class PooledTransport implements Transport {
  private readonly base: URL;
  private readonly limiter: TokenBucketRateLimiter | undefined;
  private dispatcher: Promise<Dispatcher> | undefined;
  private auth: { at: number; headers: Promise<Record<string, string>> } | undefined;
  /** Until the first response, requests go one at a time so a burst cannot open many connections before ALPN picks HTTP/2. */
  private firstResponse: Promise<void> | undefined;
  private connects = 0;
  private readonly inFlight: Semaphore;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly counter: RequestCounter,
    private readonly opts: PooledTransportOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.base = new URL(cluster.server);
    const qps = opts.qps ?? 0;
    this.limiter = qps > 0 ? new TokenBucketRateLimiter(qps, Math.max(1, opts.burst ?? qps)) : undefined;
    this.inFlight = new Semaphore(opts.maxInFlight ?? 64);
  }

  /** TCP connections this transport opened so far (undici "connect" events). */
  connectionsOpened(): number {
    return this.connects;
  }

  async send(req: KubeRequest): Promise<KubeResponse> {
    await this.throttle();
    // A watch holds its stream for minutes and is never counted against the in-flight limit.
    return req.verb === "watch" ? this.sendNow(req) : this.inFlight.run(() => this.sendNow(req));
  }

  private async sendNow(req: KubeRequest): Promise<KubeResponse> {
    const [dispatcher, headers] = await Promise.all([this.getDispatcher(), this.authHeaders()]);
    let opened: (() => void) | undefined;
    if (this.firstResponse) await this.firstResponse;
    else this.firstResponse = new Promise((r) => (opened = r));
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const qs = query.size > 0 ? `?${query.toString()}` : "";
    const body = req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    try {
      const res = await dispatcher.request({
        origin: this.base.origin,
        path: `${this.base.pathname.replace(/\/$/, "")}${req.path}${qs}`,
        method: METHOD_OF[req.verb],
        headers: {
          ...headers, accept: req.accept ?? "application/json",
          ...(body !== undefined ? { "content-type": req.contentType ?? "application/json" } : {}),
        },
        body,
        signal: req.signal,
        // A watch may be quiet for minutes; the informer runs its own idle timer.
        bodyTimeout: req.verb === "watch" ? 0 : 120_000,
        headersTimeout: 60_000,
      });
      this.counter.record(req.verb, req.kind, res.statusCode);
      const responseHeaders = flatten(res.headers);
      if (req.verb === "watch" && res.statusCode === 200) {
        return { status: res.statusCode, headers: responseHeaders, text: () => res.body.text(), stream: () => res.body as AsyncIterable<Uint8Array> };
      }
      // Read the whole body before the in-flight slot is released: its stream counts against the server's limit until then.
      const text = await res.body.text();
      return { status: res.statusCode, headers: responseHeaders, text: async () => text, stream: () => null };
    } catch (err) {
      this.counter.record(req.verb, req.kind, "<error>");
      throw err;
    } finally {
      opened?.();
    }
  }

  /** Closes every connection (pending requests fail). */
  async close(): Promise<void> {
    const d = await this.dispatcher;
    await d?.destroy();
  }

  private async throttle(): Promise<void> {
    if (!this.limiter) return;
    const wait = this.limiter.when("");
    if (wait <= 0) return;
    this.opts.onThrottle?.(wait);
    await sleep(wait);
  }

  private getDispatcher(): Promise<Dispatcher> {
    this.dispatcher ??= this.buildDispatcher();
    return this.dispatcher;
  }

  private async buildDispatcher(): Promise<Dispatcher> {
    const cluster = this.kubeConfig.getCurrentCluster();
    const tls: Record<string, unknown> = {};
    await this.kubeConfig.applyToHTTPSOptions(tls);
    const agentOptions = Object.fromEntries(
      ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"].flatMap((k) => (tls[k] === undefined ? [] : [[k, tls[k]]])),
    );
    const plan = this.kubeConfig.createDispatcherOptions(cluster, agentOptions);
    let dispatcher: Dispatcher;
    if (plan.type === "agent" || plan.type === "none") {
      const http2 = this.opts.http2 ?? true;
      dispatcher = new Agent({
        allowH2: http2,
        // The server's SETTINGS_MAX_CONCURRENT_STREAMS governs (undici's own default is 100).
        ...(http2 ? { h2Options: { maxConcurrentStreams: 1_000 } } : {}),
        connect: { ...(plan.type === "agent" ? plan.connect : {}), ...(http2 ? { preferH2: true } : {}), keepAlive: true, keepAliveInitialDelay: 30_000 },
        keepAliveTimeout: 90_000,
      });
    } else {
      // HTTP(S) or SOCKS proxy: client-node's own dispatcher for it, built once and reused.
      const ctx = new RequestContext(this.base.toString(), "GET" as never);
      await this.kubeConfig.applySecurityAuthentication(ctx);
      const own = ctx.getDispatcher() as Dispatcher | undefined;
      if (!own) throw new Error("client-node built no dispatcher for the configured proxy");
      dispatcher = own;
    }
    dispatcher.on("connect", () => {
      this.connects++;
      this.opts.onConnect?.();
    });
    return dispatcher;
  }

  /** Authorization (and impersonation) headers from client-node's authenticators, reused for authCacheMs. */
  private authHeaders(): Promise<Record<string, string>> {
    const now = Date.now();
    if (!this.auth || now - this.auth.at > (this.opts.authCacheMs ?? 30_000)) {
      const headers = this.readAuthHeaders();
      this.auth = { at: now, headers };
      headers.catch(() => (this.auth = undefined));
    }
    return this.auth.headers;
  }

  private async readAuthHeaders(): Promise<Record<string, string>> {
    const opts: { headers?: Record<string, unknown>; auth?: string } = {};
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const headers = Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    return headers;
  }
}
