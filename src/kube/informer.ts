import type { Logger } from "pino";
import { sleep, systemClock, type Clock } from "../runtime/clock.js";
import type { ListOptions } from "./client.js";
import { classifyHttpStatus, parseStatus, type KubeStatus } from "./errors.js";
import { cacheTransformFor, type CacheTransform } from "./cache-transform.js";
import { ObjectCache } from "./object-cache.js";
import { resourcePath } from "./paths.js";
import { sendJson, type Transport } from "./transport.js";
import { apiVersionOf, type KubeObject, type ObjectKey, type ResourceKind } from "./types.js";

export interface InformerHandlers<T extends KubeObject> {
  add?: (obj: T) => void;
  update?: (obj: T, old: T) => void;
  delete?: (obj: T) => void;
}

/** A synced, self-healing cache of one kind that tells handlers about changes. */
export interface Informer<T extends KubeObject = KubeObject> {
  readonly kind: ResourceKind;
  readonly labelSelector: string | undefined;
  readonly metadataOnly?: boolean;
  addHandlers(handlers: InformerHandlers<T>): void;
  start(): void;
  stop(): void;
  /** True once the first full list has been stored and announced to handlers. */
  hasSynced(): boolean;
  /** Resolves true on sync, false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  /** ms since epoch of the last byte received from a list or watch; 0 before the first. */
  readonly lastWatchActivity: number;
  get(key: ObjectKey): T | undefined;
  list(opts?: ListOptions): T[];
}

export interface InformerOptions {
  logger: Logger;
  labelSelector?: string;
  /** Only this namespace (namespaced kinds); default: all namespaces. */
  namespace?: string;
  clock?: Clock;
  /** Force a full relist this often even when the watch is healthy (missed-event safety net). */
  relistPeriodMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  pageSize?: number;
  /** What the cache keeps of each object; default: cacheTransformFor(kind). */
  transform?: CacheTransform;
  /**
   * List and watch PartialObjectMetadata only (names, labels, resourceVersions): for kinds watched
   * just to learn that an object appeared or changed (Secrets), whose contents never reach the process.
   */
  metadataOnly?: boolean;
}

/** client-go's metadata informer: the server converts every item to meta.k8s.io/v1 PartialObjectMetadata. */
const METADATA_ONLY = {
  list: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
  watch: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
};

/** 410 Gone inside a watch stream: our resourceVersion is too old; relist. */
class GoneError extends Error {}

interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/**
 * List+watch informer written directly over our Transport rather than client-node's makeInformer:
 * its ListWatch stops for good on most errors and must be restarted by hand (client-node issues
 * #795, #1598, #1933), and its requests would bypass our per-verb request counter.
 *
 * Behaviour (client-go Reflector): list (paginated) → announce diffs vs the cache → watch from the
 * list's resourceVersion with bookmarks. A clean server-side close rewatches from the last seen
 * resourceVersion (no relist, as client-go: relisting 10k objects every few minutes is waste); 410
 * Gone relists at once; any other error relists after a back-off of 1 s doubling to 30 s.
 */
export class ListWatchInformer<T extends KubeObject = KubeObject> implements Informer<T> {
  readonly labelSelector: string | undefined;
  readonly metadataOnly: boolean;
  private readonly cache = new ObjectCache<T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly clock: Clock;
  private readonly log: Logger;
  private stopper = new AbortController();
  private running = false;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private activity = 0;
  private readonly transform: CacheTransform;

  constructor(private readonly transport: Transport, readonly kind: ResourceKind, private readonly opts: InformerOptions) {
    this.labelSelector = opts.labelSelector;
    this.metadataOnly = opts.metadataOnly ?? false;
    this.transform = opts.transform ?? cacheTransformFor(kind.group, kind.kind);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ informer: kind.kind, labelSelector: opts.labelSelector });
  }

  get lastWatchActivity(): number {
    return this.activity;
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
    // Late subscribers still see every cached object once, like client-go's AddEventHandler.
    if (this.synced) for (const obj of this.cache.values()) this.emit("add", obj);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopper = new AbortController();
    void this.run(this.stopper.signal);
  }

  stop(): void {
    this.running = false;
    this.stopper.abort();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = (): void => resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  get(key: ObjectKey): T | undefined {
    return this.cache.get(key.namespace, key.name);
  }

  list(opts: ListOptions = {}): T[] {
    return this.cache.list(opts.namespace, opts.labels);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const initial = this.opts.backoffInitialMs ?? 1_000;
    let backoff = initial;
    while (!signal.aborted) {
      try {
        await this.listAndWatch(signal, () => (backoff = initial));
      } catch (err) {
        if (signal.aborted) return;
        this.log.warn({ err, retryInMs: backoff }, "List/watch failed, relisting after back-off");
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, this.opts.backoffMaxMs ?? 30_000);
      }
    }
  }

  /** One list followed by watches until 410 Gone, the relist period, or stop. Throws on errors. */
  private async listAndWatch(signal: AbortSignal, healthy: () => void): Promise<void> {
    let rv = await this.relist(signal);
    const listedAt = this.clock.now();
    while (!signal.aborted) {
      const outcome = await this.watchOnce(rv, signal);
      // A watch that ended cleanly proves the connection works: the next failure starts at 1 s again.
      healthy();
      if (outcome === "gone") return;
      rv = outcome;
      if (this.opts.relistPeriodMs && this.clock.now() - listedAt > this.opts.relistPeriodMs) return;
    }
  }

  /** Full paginated list; replaces the cache and announces adds/updates/deletes. Returns its RV. */
  private async relist(signal: AbortSignal): Promise<string> {
    const seen = new Set<string>();
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await sendJson<{ metadata: { resourceVersion?: string; continue?: string }; items: T[] | null }>(
        this.transport, {
          verb: "list", kind: this.kind.kind, path: resourcePath(this.kind, this.opts.namespace), signal,
          ...(this.opts.metadataOnly ? { accept: METADATA_ONLY.list } : {}),
          query: { labelSelector: this.labelSelector, limit: this.opts.pageSize ?? 500, continue: cont },
        });
      this.activity = this.clock.now();
      // A PartialObjectMetadataList without items says `"items": null`.
      for (const item of page.items ?? []) {
        item.apiVersion = apiVersionOf(this.kind);
        item.kind = this.kind.kind;
        seen.add(`${item.metadata.namespace ?? ""}/${item.metadata.name ?? ""}`);
        this.store(item);
      }
      rv = page.metadata.resourceVersion ?? rv;
      cont = page.metadata.continue || undefined;
    } while (cont);
    for (const obj of [...this.cache.values()]) {
      if (!seen.has(`${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`)) this.forget(obj);
    }
    this.markSynced();
    return rv;
  }

  /** One watch connection. Resolves with the last resourceVersion on a clean close, "gone" on 410. */
  private async watchOnce(fromRv: string, signal: AbortSignal): Promise<string | "gone"> {
    // client-go picks a random 5–10 min timeout so watches of many clients do not expire together.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    // A half-open TCP connection never closes by itself: abort when even bookmarks stop arriving.
    const idle = new AbortController();
    let idleTimer: NodeJS.Timeout | undefined;
    const touch = (): void => {
      this.activity = this.clock.now();
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => idle.abort(new Error("watch idle timeout")), (timeoutSeconds + 60) * 1000);
      idleTimer.unref();
    };
    try {
      touch();
      const res = await this.transport.send({
        verb: "watch", kind: this.kind.kind, path: resourcePath(this.kind, this.opts.namespace), signal: AbortSignal.any([signal, idle.signal]),
        ...(this.opts.metadataOnly ? { accept: METADATA_ONLY.watch } : {}),
        query: {
          watch: 1, resourceVersion: fromRv, allowWatchBookmarks: true, labelSelector: this.labelSelector, timeoutSeconds,
        },
      });
      if (res.status === 410) return "gone";
      if (res.status !== 200) {
        throw classifyHttpStatus(res.status, parseStatus(await res.text()), res.headers["retry-after"]);
      }
      return await this.consume(res.stream(), fromRv, touch);
    } catch (err) {
      if (err instanceof GoneError) return "gone";
      throw err;
    } finally {
      clearTimeout(idleTimer);
    }
  }

  private async consume(body: AsyncIterable<Uint8Array> | null, fromRv: string, touch: () => void): Promise<string> {
    let rv = fromRv;
    if (!body) return rv;
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of body) {
      touch();
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) rv = this.apply(JSON.parse(line) as WatchEvent<T>, rv);
      }
    }
    return rv;
  }

  private apply(event: WatchEvent<T>, rv: string): string {
    if (event.type === "ERROR") {
      const status = event.object as unknown as KubeStatus;
      if (status.code === 410) throw new GoneError("watch expired (410 Gone)");
      throw classifyHttpStatus(status.code ?? 500, status);
    }
    const obj = event.object;
    const nextRv = obj.metadata.resourceVersion ?? rv;
    if (event.type === "BOOKMARK") return nextRv;
    obj.apiVersion = apiVersionOf(this.kind);
    obj.kind = this.kind.kind;
    if (event.type === "DELETED") this.forget(obj);
    else this.store(obj);
    return nextRv;
  }

  private store(received: T): void {
    const obj = this.transform(received) as T;
    const old = this.cache.upsert(obj);
    if (!old) this.emit("add", obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit("update", obj, old);
  }

  private forget(obj: T): void {
    const old = this.cache.remove(obj);
    this.emit("delete", old ?? obj);
  }

  private emit(event: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (event === "update") h.update?.(obj, old as T);
        else h[event]?.(obj);
      } catch (err) {
        this.log.error({ err, event }, "Informer event handler threw");
      }
    }
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.syncWaiters.splice(0).forEach((resolve) => resolve());
  }
}

