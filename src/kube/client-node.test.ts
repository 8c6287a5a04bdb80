import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ConflictError } from "../runtime/errors.js";
import { KubeClientImpl } from "./client-node.js";
import { resourcePath } from "./paths.js";
import { RequestCounter, type KubeRequest, type KubeResponse, type Transport } from "./transport.js";
import { BuiltinKinds, type ResourceKind } from "./types.js";

const TrainingRun: ResourceKind = { group: "amlcompute.dev", version: "v1alpha1", kind: "TrainingRun", plural: "trainingruns", namespaced: true };

/** Records requests and answers each with the next scripted [status, body]. */
class RecordingTransport implements Transport {
  requests: KubeRequest[] = [];
  constructor(private readonly replies: Array<[number, unknown]> = []) {}
  async send(req: KubeRequest): Promise<KubeResponse> {
    this.requests.push(req);
    const [status, body] = this.replies.shift() ?? [200, { metadata: {} }];
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return { status, headers: {}, text: async () => text, stream: () => null };
  }
}

const client = (transport: Transport): KubeClientImpl =>
  new KubeClientImpl(new KubeConfig(), { logger: pino({ level: "silent" }), transport, identity: "pod-1" });

describe("resourcePath", () => {
  it.each([
    ["core collection", () => resourcePath(BuiltinKinds.ConfigMap, "ns"), "/api/v1/namespaces/ns/configmaps"],
    ["core object", () => resourcePath(BuiltinKinds.Pod, "ns", "p", "log"), "/api/v1/namespaces/ns/pods/p/log"],
    ["custom status", () => resourcePath(TrainingRun, "ns", "r", "status"), "/apis/amlcompute.dev/v1alpha1/namespaces/ns/trainingruns/r/status"],
    ["all namespaces", () => resourcePath(TrainingRun), "/apis/amlcompute.dev/v1alpha1/trainingruns"],
    ["cluster-scoped", () => resourcePath(BuiltinKinds.Namespace, "ignored", "n"), "/api/v1/namespaces/n"],
  ])("%s", (_n, path, want) => expect(path()).toBe(want));
});

describe("KubeClientImpl requests", () => {
  it("applies with SSA: apply-patch content type, our field manager, force, no resourceVersion", async () => {
    const t = new RecordingTransport();
    await client(t).apply(BuiltinKinds.ConfigMap, { metadata: { namespace: "ns", name: "c", resourceVersion: "7" }, data: { a: "1" } } as never);
    const req = t.requests[0];
    expect(req).toMatchObject({
      verb: "patch", path: "/api/v1/namespaces/ns/configmaps/c", contentType: "application/apply-patch+yaml",
      query: { fieldManager: "aml-compute-operator", force: true },
    });
    expect(req?.body).toMatchObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } });
    expect((req?.body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion).toBeUndefined();
  });

  it("updates status with a PUT to /status carrying the resourceVersion", async () => {
    const t = new RecordingTransport();
    await client(t).updateStatus(TrainingRun, { metadata: { namespace: "ns", name: "r", resourceVersion: "9" }, status: { x: 1 } });
    expect(t.requests[0]).toMatchObject({
      verb: "update", path: "/apis/amlcompute.dev/v1alpha1/namespaces/ns/trainingruns/r/status",
      body: { apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun", metadata: { resourceVersion: "9" } },
    });
  });

  it("merge-patches metadata with the resourceVersion precondition inside the body", async () => {
    const t = new RecordingTransport();
    await client(t).patchMetadata(TrainingRun, { namespace: "ns", name: "r" }, { finalizers: ["f"] }, "3");
    expect(t.requests[0]).toMatchObject({
      verb: "patch", contentType: "application/merge-patch+json", body: { metadata: { finalizers: ["f"], resourceVersion: "3" } },
    });
  });

  it("maps 409 to ConflictError and AlreadyExists to alreadyExists", async () => {
    const t = new RecordingTransport([[409, { kind: "Status", reason: "AlreadyExists" }]]);
    const err = await client(t).create(BuiltinKinds.ConfigMap, { metadata: { namespace: "ns", name: "c" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).alreadyExists).toBe(true);
  });

  it("read returns undefined on 404; delete treats 404 as success and sends propagation + uid precondition", async () => {
    const t = new RecordingTransport([[404, { reason: "NotFound" }], [404, { reason: "NotFound" }]]);
    const c = client(t);
    expect(await c.read(BuiltinKinds.Secret, { namespace: "ns", name: "s" })).toBeUndefined();
    await c.delete(BuiltinKinds.Job, { namespace: "ns", name: "j" }, { uid: "u1" });
    expect(t.requests[1]?.body).toMatchObject({ propagationPolicy: "Background", preconditions: { uid: "u1" } });
  });

  it("podLogs returns text, and '' when the pod is gone or not started", async () => {
    const t = new RecordingTransport([[200, "line1\nline2\n"], [404, {}], [400, {}]]);
    const c = client(t);
    const key = { namespace: "ns", name: "p" };
    expect(await c.podLogs(key, { tailLines: 10 })).toBe("line1\nline2\n");
    expect(t.requests[0]).toMatchObject({ verb: "get", path: "/api/v1/namespaces/ns/pods/p/log", query: { tailLines: 10 } });
    expect(await c.podLogs(key)).toBe("");
    expect(await c.podLogs(key)).toBe("");
  });

  it("get/list need a watch() first, and watch() refuses a second selector for the same kind", () => {
    const c = client(new RecordingTransport());
    expect(() => c.get(BuiltinKinds.Pod, { namespace: "ns", name: "p" })).toThrow(/not cached/);
    c.watch(BuiltinKinds.Pod, { labelSelector: "a=b" });
    expect(c.watch(BuiltinKinds.Pod, { labelSelector: "a=b" })).toBe(c.watch(BuiltinKinds.Pod, { labelSelector: "a=b" }));
    expect(() => c.watch(BuiltinKinds.Pod)).toThrow(/already watched/);
    expect(c.list(BuiltinKinds.Pod)).toEqual([]);
  });

  it("records events fire-and-forget, de-duplicated within the window", async () => {
    const t = new RecordingTransport();
    const c = client(t);
    const obj = { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "ns", name: "c", uid: "u" } };
    c.recordEvent(obj, "Normal", "Created", "Created Job");
    c.recordEvent(obj, "Normal", "Created", "Created Job");
    c.recordEvent(obj, "Warning", "Failed", "x".repeat(5_000));
    await new Promise((r) => setTimeout(r, 0));
    expect(t.requests).toHaveLength(2);
    expect(t.requests[0]).toMatchObject({
      verb: "create", path: "/apis/events.k8s.io/v1/namespaces/ns/events",
      body: { reportingController: "amlcompute.dev/operator", reportingInstance: "pod-1", reason: "Created", regarding: { uid: "u" } },
    });
    expect((t.requests[1]?.body as { note: string }).note.length).toBeLessThanOrEqual(1024);
  });

  it("recordEvent never throws, even when the transport rejects", async () => {
    const c = client({ send: () => Promise.reject(new Error("down")) });
    expect(() => c.recordEvent({ metadata: { name: "x" } }, "Normal", "R", "m")).not.toThrow();
    await new Promise((r) => setTimeout(r, 0));
  });
});

describe("RequestCounter", () => {
  it("counts by verb and kind, and feeds rest_client_requests_total by method and code", async () => {
    const registry = new Registry();
    const { operatorMetrics } = await import("../observability/metrics.js");
    const counter = new RequestCounter(operatorMetrics(registry).restClientRequests);
    counter.record("patch", "ConfigMap", 200);
    counter.record("patch", "ConfigMap", 409);
    counter.record("list", "Pod", "<error>");
    expect(counter.snapshot()).toEqual({
      total: 3, byVerb: { patch: 2, list: 1 }, byVerbAndKind: { "patch ConfigMap": 2, "list Pod": 1 },
    });
    const text = await registry.metrics();
    expect(text).toContain('rest_client_requests_total{method="PATCH",code="409"} 1');
    expect(text).toContain('rest_client_requests_total{method="GET",code="<error>"} 1');
  });
});
