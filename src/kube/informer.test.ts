import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ListWatchInformer } from "./informer.js";
import type { KubeRequest, KubeResponse, Transport } from "./transport.js";
import { BuiltinKinds, type KubeObject } from "./types.js";

const cm = (name: string, rv: string, labels?: Record<string, string>): KubeObject =>
  ({ metadata: { namespace: "ns", name, resourceVersion: rv, labels } });

/**
 * Scripted API server: list answers from `items`; each watch takes the next scripted stream, whose
 * lines are pushed by the test. Records every request.
 */
class ScriptedServer implements Transport {
  items: KubeObject[] = [];
  listRv = "10";
  requests: KubeRequest[] = [];
  watchStatus: number[] = [];
  private streams: Array<ReadableStreamDefaultController<Uint8Array>> = [];
  private watchWaiters: Array<() => void> = [];

  async send(req: KubeRequest): Promise<KubeResponse> {
    this.requests.push(req);
    if (req.verb === "list") {
      const body = JSON.stringify({ metadata: { resourceVersion: this.listRv }, items: structuredClone(this.items) });
      return { status: 200, headers: {}, text: async () => body, stream: () => null };
    }
    const status = this.watchStatus.shift() ?? 200;
    if (status !== 200) return { status, headers: {}, text: async () => "{}", stream: () => null };
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    req.signal?.addEventListener("abort", () => controller.error(new Error("aborted")));
    this.streams.push(controller);
    this.watchWaiters.splice(0).forEach((w) => w());
    return { status: 200, headers: {}, text: async () => "", stream: () => stream };
  }

  async nextWatch(): Promise<void> {
    const count = this.requests.filter((r) => r.verb === "watch").length;
    while (this.requests.filter((r) => r.verb === "watch").length === count || this.streams.length === 0) {
      await new Promise<void>((r) => this.watchWaiters.push(r));
    }
  }

  sendEvent(type: string, object: unknown): void {
    this.current().enqueue(new TextEncoder().encode(JSON.stringify({ type, object }) + "\n"));
  }

  close(): void {
    this.current().close();
    this.streams.pop();
  }

  private current(): ReadableStreamDefaultController<Uint8Array> {
    const c = this.streams[this.streams.length - 1];
    if (!c) throw new Error("no open watch");
    return c;
  }
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 10));
let informer: ListWatchInformer | undefined;
afterEach(() => informer?.stop());

function start(server: ScriptedServer, labelSelector?: string): { events: string[]; informer: ListWatchInformer } {
  const events: string[] = [];
  informer = new ListWatchInformer(server, BuiltinKinds.ConfigMap, {
    logger: pino({ level: "silent" }), labelSelector, backoffInitialMs: 5, backoffMaxMs: 20,
  });
  informer.addHandlers({
    add: (o) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    update: (o, old) => events.push(`update ${o.metadata.name}@${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
    delete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  informer.start();
  return { events, informer };
}

describe("ListWatchInformer", () => {
  it("lists, syncs, then applies watch events to the cache and handlers", async () => {
    const server = new ScriptedServer();
    server.items = [cm("a", "5", { app: "x" })];
    const { events, informer: inf } = start(server, "app=x");
    expect(await inf.waitForSync()).toBe(true);
    expect(inf.get({ namespace: "ns", name: "a" })?.kind).toBe("ConfigMap");
    await server.nextWatch();
    const watch = server.requests.find((r) => r.verb === "watch");
    expect(watch?.query).toMatchObject({ resourceVersion: "10", allowWatchBookmarks: true, labelSelector: "app=x" });
    server.sendEvent("ADDED", cm("b", "11", { app: "x" }));
    server.sendEvent("MODIFIED", cm("a", "12", { app: "x" }));
    server.sendEvent("DELETED", cm("b", "13"));
    await flush();
    expect(events).toEqual(["add a@5", "add b@11", "update a@5->12", "delete b"]);
    expect(inf.list({ labels: { app: "x" } }).map((o) => o.metadata.name)).toEqual(["a"]);
    expect(inf.lastWatchActivity).toBeGreaterThan(0);
  });

  it("rewatches from the last seen resourceVersion (incl. bookmarks) after a clean close, without relisting", async () => {
    const server = new ScriptedServer();
    const { informer: inf } = start(server);
    await inf.waitForSync();
    await server.nextWatch();
    server.sendEvent("ADDED", cm("a", "20"));
    server.sendEvent("BOOKMARK", { metadata: { resourceVersion: "25" } });
    await flush();
    const next = server.nextWatch();
    server.close();
    await next;
    const watches = server.requests.filter((r) => r.verb === "watch");
    expect(watches.at(-1)?.query?.resourceVersion).toBe("25");
    expect(server.requests.filter((r) => r.verb === "list")).toHaveLength(1);
  });

  it("relists on 410 Gone inside the stream and announces the differences", async () => {
    const server = new ScriptedServer();
    server.items = [cm("a", "5"), cm("b", "6")];
    const { events, informer: inf } = start(server);
    await inf.waitForSync();
    await server.nextWatch();
    server.items = [cm("a", "30"), cm("c", "31")];
    server.listRv = "40";
    const next = server.nextWatch();
    server.sendEvent("ERROR", { kind: "Status", code: 410, reason: "Expired" });
    await next;
    expect(server.requests.filter((r) => r.verb === "list")).toHaveLength(2);
    expect(server.requests.filter((r) => r.verb === "watch").at(-1)?.query?.resourceVersion).toBe("40");
    expect(events).toEqual(["add a@5", "add b@6", "update a@5->30", "add c@31", "delete b"]);
  });

  it("relists after a back-off when the watch request fails, and on a 410 response", async () => {
    const server = new ScriptedServer();
    server.watchStatus = [500, 410];
    const { informer: inf } = start(server);
    await inf.waitForSync();
    await server.nextWatch();
    expect(server.requests.map((r) => r.verb)).toEqual(["list", "watch", "list", "watch", "list", "watch"]);
  });

  it("waitForSync resolves false when aborted before the first list", async () => {
    const inf = new ListWatchInformer({ send: () => new Promise(() => {}) }, BuiltinKinds.ConfigMap, { logger: pino({ level: "silent" }) });
    const ac = new AbortController();
    const p = inf.waitForSync(ac.signal);
    ac.abort();
    expect(await p).toBe(false);
    expect(inf.hasSynced()).toBe(false);
  });

  it("replays the cache to handlers added after sync", async () => {
    const server = new ScriptedServer();
    server.items = [cm("a", "5")];
    const { informer: inf } = start(server);
    await inf.waitForSync();
    const late: string[] = [];
    inf.addHandlers({ add: (o) => late.push(o.metadata.name ?? "") });
    expect(late).toEqual(["a"]);
  });
});
