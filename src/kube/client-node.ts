import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { operatorMetrics } from "../observability/metrics.js";
import type { Lease, LeaseClient } from "./lease.js";
import type { DeleteOptions, KubeClient, ListOptions, MetadataPatch, ObjectEvent, ServiceAccountToken } from "./client.js";
import { NotFoundError } from "../runtime/errors.js";
import { classifyKubeError } from "./errors.js";
import { EventRecorder } from "./event-recorder.js";
import { ListWatchInformer, type Informer } from "./informer.js";
import { kindId, resourcePath } from "./paths.js";
import { PooledTransport } from "./pooled-transport.js";
import { RequestCounter, sendJson, type RequestCounts, type Transport } from "./transport.js";
import { apiVersionOf, BuiltinKinds, type KubeObject, type ObjectKey, type ResourceKind } from "./types.js";

export const FIELD_MANAGER = "aml-compute-operator";

export interface KubeClientImplOptions {
  logger: Logger;
  /** Registry for rest_client_requests_total; share it with the Manager. */
  registry?: Registry;
  /** This replica's identity: Event reportingInstance (and the lease holder, by convention). */
  identity?: string;
  /** Full relist period of informers (missed-event safety net). Default 30 min. */
  relistPeriodMs?: number;
  /**
   * Cache (and so reconcile) only this namespace: one operator per team namespace, or parallel
   * test runs on one cluster. Default: all namespaces.
   */
  watchNamespace?: string;
  /** Injected transport (tests); default: one pooled connection over `kubeConfig`'s TLS and auth. */
  transport?: Transport;
  /**
   * Client-side budget for API requests (client-go's QPS/Burst; watches and lists count). Default
   * 100 QPS, burst 200; qps 0 disables it.
   */
  rateLimit?: { qps: number; burst: number };
  /** Offer HTTP/2 (one multiplexed connection). Default true; false keeps HTTP/1.1 keep-alive connections. */
  http2?: boolean;
}

export const DEFAULT_RATE_LIMIT = { qps: 100, burst: 200 } as const;

/** core/v1 Events: the scheduler, the kubelet and the Job controller all show up here. */
const CORE_EVENT = { group: "", version: "v1", kind: "Event", plural: "events", namespaced: true } as const;
interface CoreEvent {
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
  series?: { lastObservedTime?: string };
}

export interface WatchOptions {
  labelSelector?: string;
  /** Cache PartialObjectMetadata only (see InformerOptions.metadataOnly). */
  metadataOnly?: boolean;
}

/**
 * KubeClient over @kubernetes/client-node 2.x. Reads come from informers started
 * through watch(); writes go to the API server through one counted Transport.
 */
export class KubeClientImpl implements KubeClient, LeaseClient {
  readonly identity: string;
  private readonly transport: Transport;
  private readonly counter: RequestCounter;
  private readonly informers = new Map<string, ListWatchInformer>();
  private readonly events: EventRecorder;

  constructor(readonly kubeConfig: KubeConfig, private readonly opts: KubeClientImplOptions) {
    this.identity = opts.identity ?? process.env.HOSTNAME ?? "aml-compute-operator";
    const metrics = operatorMetrics(opts.registry ?? new Registry());
    this.counter = new RequestCounter(metrics.restClientRequests, metrics.apiRequestsByKind);
    const limit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.transport = opts.transport ?? new PooledTransport(kubeConfig, this.counter, {
      qps: limit.qps, burst: limit.burst, http2: opts.http2 ?? true,
      onThrottle: (ms) => metrics.restClientRateLimiterDuration.observe(ms / 1000),
      onConnect: () => metrics.apiConnectionsOpened.inc(),
    });
    this.events = new EventRecorder(this.transport, { logger: opts.logger, identity: this.identity });
  }

  /** In-cluster service account, $KUBECONFIG or ~/.kube/config, as kubectl resolves them. */
  static fromDefault(opts: KubeClientImplOptions): KubeClientImpl {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeClientImpl(kc, opts);
  }

  static fromFile(path: string, opts: KubeClientImplOptions): KubeClientImpl {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClientImpl(kc, opts);
  }

  /**
   * The informer for `kind`, created (not started) on first call. One informer per kind: asking
   * again with a different label selector is a wiring bug and throws.
   */
  watch<T extends KubeObject = KubeObject>(kind: ResourceKind, opts: WatchOptions = {}): Informer<T> {
    const id = kindId(kind);
    const existing = this.informers.get(id);
    if (existing) {
      if (existing.labelSelector !== opts.labelSelector) {
        throw new Error(`${kind.kind} is already watched with labelSelector "${existing.labelSelector ?? ""}"`);
      }
      if (existing.metadataOnly !== (opts.metadataOnly ?? false)) {
        throw new Error(`${kind.kind} is already watched ${existing.metadataOnly ? "as metadata only" : "with whole objects"}`);
      }
      return existing as unknown as Informer<T>;
    }
    const informer = new ListWatchInformer(this.transport, kind, {
      logger: this.opts.logger, labelSelector: opts.labelSelector, relistPeriodMs: this.opts.relistPeriodMs ?? 1_800_000,
      ...(opts.metadataOnly ? { metadataOnly: true } : {}),
      ...(this.opts.watchNamespace && kind.namespaced ? { namespace: this.opts.watchNamespace } : {}),
    });
    this.informers.set(id, informer);
    return informer as unknown as Informer<T>;
  }

  /** Every informer created through watch(). */
  allInformers(): Informer[] {
    return [...this.informers.values()];
  }

  /** Requests sent so far, by verb and by "verb Kind" (exact: every HTTP request goes through one door). */
  requestCounts(): RequestCounts {
    return this.counter.snapshot();
  }

  get<T extends KubeObject>(kind: ResourceKind, key: ObjectKey): T | undefined {
    return this.informerFor(kind).get(key) as T | undefined;
  }

  list<T extends KubeObject>(kind: ResourceKind, opts?: ListOptions): T[] {
    return this.informerFor(kind).list(opts) as T[];
  }

  async read<T extends KubeObject>(kind: ResourceKind, key: ObjectKey): Promise<T | undefined> {
    try {
      return this.typed(kind, await this.call<T>(kind, "get", resourcePath(kind, key.namespace, key.name)));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async create<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    const body = this.typed(kind, obj);
    return this.typed(kind, await this.call<T>(kind, "create", resourcePath(kind, obj.metadata.namespace), { body }));
  }

  async apply<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    // Server-side apply: JSON is valid YAML, so the apply-patch+yaml content type takes it as is.
    // resourceVersion would turn apply into a conditional write; managedFields are rejected in apply bodies.
    const metadata = { ...obj.metadata, resourceVersion: undefined, managedFields: undefined };
    const body = this.typed(kind, { ...obj, metadata });
    return this.typed(kind, await this.call<T>(kind, "patch", resourcePath(kind, obj.metadata.namespace, obj.metadata.name), {
      body, contentType: "application/apply-patch+yaml", query: { fieldManager: FIELD_MANAGER, force: true },
    }));
  }

  async updateStatus<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    const path = resourcePath(kind, obj.metadata.namespace, obj.metadata.name, "status");
    return this.typed(kind, await this.call<T>(kind, "update", path, { body: this.typed(kind, obj) }));
  }

  /** Full PUT of an object with its resourceVersion as precondition (leases; not part of KubeClient). */
  async replace<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    const path = resourcePath(kind, obj.metadata.namespace, obj.metadata.name);
    return this.typed(kind, await this.call<T>(kind, "update", path, { body: this.typed(kind, obj) }));
  }

  async patchMetadata<T extends KubeObject>(
    kind: ResourceKind, key: ObjectKey, patch: MetadataPatch, resourceVersion?: string,
  ): Promise<T> {
    // A resourceVersion inside a merge patch is a precondition: the server answers 409 if it moved on.
    const body = { metadata: { ...patch, ...(resourceVersion ? { resourceVersion } : {}) } };
    return this.mergePatch<T>(kind, key, body);
  }

  async patchSpec<T extends KubeObject>(kind: ResourceKind, key: ObjectKey, spec: Record<string, unknown>): Promise<T> {
    return this.mergePatch<T>(kind, key, { spec });
  }

  async delete(kind: ResourceKind, key: ObjectKey, opts: DeleteOptions = {}): Promise<void> {
    const body = {
      apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: opts.propagation ?? "Background",
      ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
    };
    try {
      await this.call(kind, "delete", resourcePath(kind, key.namespace, key.name), { body });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /**
   * GET pods/log directly rather than CoreV1Api.readNamespacedPodLog so the request is counted like
   * every other. 404 (pod gone) and 400 (container not started yet) both mean "no log" here.
   */
  async podLogs(key: ObjectKey, opts: { container?: string; tailLines?: number; limitBytes?: number } = {}): Promise<string> {
    let res;
    try {
      res = await this.transport.send({
        verb: "get", kind: "Pod", path: resourcePath(BuiltinKinds.Pod, key.namespace, key.name, "log"),
        query: { container: opts.container, tailLines: opts.tailLines, limitBytes: opts.limitBytes },
      });
    } catch (err) {
      throw classifyKubeError(err);
    }
    const text = await res.text();
    if (res.status === 200) return text;
    if (res.status === 404 || res.status === 400) return "";
    throw classifyKubeError({ statusCode: res.status, body: text, headers: res.headers });
  }

  async requestServiceAccountToken(key: ObjectKey, audience: string, expirationSeconds: number): Promise<ServiceAccountToken> {
    const request = { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [audience], expirationSeconds } };
    const answer = await this.call<{ status?: { token?: string; expirationTimestamp?: string } }>(
      BuiltinKinds.ServiceAccount, "create", resourcePath(BuiltinKinds.ServiceAccount, key.namespace, key.name, "token"), { body: request },
    );
    if (!answer.status?.token) throw new Error(`TokenRequest for ServiceAccount ${key.namespace}/${key.name} returned no token`);
    return { token: answer.status.token, expiresAt: new Date(answer.status.expirationTimestamp ?? Date.now() + expirationSeconds * 1000) };
  }

  async warningEvents(namespace: string, uid: string): Promise<ObjectEvent[]> {
    const list = await sendJson<{ items: CoreEvent[] | null }>(this.transport, {
      verb: "list", kind: "Event", path: resourcePath(CORE_EVENT, namespace),
      query: { fieldSelector: `involvedObject.uid=${uid},type=Warning`, limit: 50 },
    });
    return (list.items ?? [])
      .map((e) => ({ reason: e.reason ?? "", message: e.message ?? "", lastSeen: e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp }))
      .sort((a, b) => (b.lastSeen ?? "").localeCompare(a.lastSeen ?? ""));
  }

  recordEvent(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    this.events.record(obj, type, reason, message);
  }

  readLease(key: ObjectKey): Promise<Lease | undefined> {
    return this.read<Lease>(BuiltinKinds.Lease, key);
  }

  createLease(lease: Lease): Promise<Lease> {
    return this.create(BuiltinKinds.Lease, lease);
  }

  replaceLease(lease: Lease): Promise<Lease> {
    return this.replace(BuiltinKinds.Lease, lease);
  }

  /** Stops every informer. */
  stop(): void {
    for (const informer of this.informers.values()) informer.stop();
  }

  /** TCP connections opened to the API server so far; undefined with an injected transport. */
  connectionsOpened(): number | undefined {
    return this.transport instanceof PooledTransport ? this.transport.connectionsOpened() : undefined;
  }

  /** Stops every informer and closes the connection(s) to the API server. */
  async close(): Promise<void> {
    this.stop();
    if (this.transport instanceof PooledTransport) await this.transport.close();
  }

  private mergePatch<T extends KubeObject>(kind: ResourceKind, key: ObjectKey, body: unknown): Promise<T> {
    return this.call<T>(kind, "patch", resourcePath(kind, key.namespace, key.name), {
      body, contentType: "application/merge-patch+json",
    }).then((o) => this.typed(kind, o));
  }

  private call<T>(
    kind: ResourceKind, verb: "get" | "create" | "update" | "patch" | "delete", path: string,
    extra: { body?: unknown; contentType?: string; query?: Record<string, string | boolean> } = {},
  ): Promise<T> {
    return sendJson<T>(this.transport, { verb, kind: kind.kind, path, ...extra });
  }

  private informerFor(kind: ResourceKind): ListWatchInformer {
    const informer = this.informers.get(kindId(kind));
    if (!informer) throw new Error(`${kind.kind} is not cached: register it with watch() (the Manager does this)`);
    return informer;
  }

  /** The server omits apiVersion/kind on some responses; controllers and SSA need them. */
  private typed<T extends KubeObject>(kind: ResourceKind, obj: T): T {
    return { ...obj, apiVersion: apiVersionOf(kind), kind: kind.kind };
  }
}
