import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../runtime/errors.js";
import { KubeClientImpl } from "./client-node.js";
import { BuiltinKinds } from "./types.js";

/**
 * Exercises the real client-node HTTP stack (auth headers, undici, streaming) against a loopback
 * server, so the transport is covered even where no cluster runs. Semantics are the integration
 * suite's job.
 */
let server: Server;
let kube: KubeClientImpl;
const seen: Array<{ method: string; url: string; contentType?: string; auth?: string; body: string }> = [];

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  seen.push({ method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"], auth: req.headers.authorization, body });
  const url = new URL(req.url ?? "/", "http://x");
  if (url.searchParams.get("watch")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.write(JSON.stringify({ type: "ADDED", object: { metadata: { namespace: "ns", name: "w", resourceVersion: "2" } } }) + "\n");
    setTimeout(() => res.end(), 20);
    return;
  }
  if (url.pathname.endsWith("/configmaps") && req.method === "GET") {
    res.writeHead(200).end(JSON.stringify({ metadata: { resourceVersion: "1" }, items: [{ metadata: { namespace: "ns", name: "a", resourceVersion: "1" } }] }));
    return;
  }
  if (url.pathname.endsWith("/missing")) {
    res.writeHead(404).end(JSON.stringify({ kind: "Status", code: 404, reason: "NotFound", message: "configmaps \"missing\" not found" }));
    return;
  }
  res.writeHead(200).end(body || JSON.stringify({ metadata: { name: "x" } }));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handle(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: "u", token: "secret-token" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  kube = new KubeClientImpl(kc, { logger: pino({ level: "silent" }), identity: "t" });
});

afterAll(async () => {
  kube.stop();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("ClientNodeTransport over a loopback server", () => {
  it("sends authenticated JSON requests with the right content type and counts them", async () => {
    await kube.apply(BuiltinKinds.ConfigMap, { metadata: { namespace: "ns", name: "a" } });
    const last = seen.at(-1);
    expect(last).toMatchObject({ method: "PATCH", contentType: "application/apply-patch+yaml", auth: "Bearer secret-token" });
    expect(last?.url).toBe("/api/v1/namespaces/ns/configmaps/a?fieldManager=aml-compute-operator&force=true");
    expect(kube.requestCounts().byVerbAndKind["patch ConfigMap"]).toBe(1);
  });

  it("classifies HTTP errors", async () => {
    await expect(kube.patchSpec(BuiltinKinds.ConfigMap, { namespace: "ns", name: "missing" }, {})).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists and streams a watch into the informer cache", async () => {
    const informer = kube.watch(BuiltinKinds.ConfigMap);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    for (let i = 0; i < 50 && !informer.get({ namespace: "ns", name: "w" }); i++) await new Promise((r) => setTimeout(r, 10));
    expect(kube.get(BuiltinKinds.ConfigMap, { namespace: "ns", name: "w" })?.metadata.resourceVersion).toBe("2");
    expect(kube.list(BuiltinKinds.ConfigMap, { namespace: "ns" })).toHaveLength(2);
    expect(kube.requestCounts().byVerbAndKind["list ConfigMap"]).toBe(1);
    expect(kube.requestCounts().byVerbAndKind["watch ConfigMap"]).toBeGreaterThanOrEqual(1);
    informer.stop();
  });
});
