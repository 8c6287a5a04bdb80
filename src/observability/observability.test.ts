import { Writable } from "node:stream";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startHealthServer, startMetricsServer, type HttpEndpoint } from "./health.js";
import { createLogger } from "./logger.js";
import { operatorMetrics } from "./metrics.js";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c.toString()); cb(); } });
  return { stream, lines: () => chunks.join("").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("createLogger", () => {
  it("writes JSON with string levels and redacts secrets", () => {
    const out = capture();
    const log = createLogger({ level: "info" }, out.stream);
    log.info({
      secret: { data: { key: "c2VjcmV0" } },
      ssh: { privateKey: "-----BEGIN", password: "pw" },
      azure: { clientSecret: "cs", token: "t" },
      req: { headers: { authorization: "Bearer x" } },
      keep: { name: "visible" },
    }, "Created Job");
    const [line] = out.lines();
    expect(line).toMatchObject({ level: "info", msg: "Created Job", keep: { name: "visible" } });
    const text = JSON.stringify(line);
    for (const secret of ["c2VjcmV0", "-----BEGIN", "\"pw\"", "\"cs\"", "\"t\"", "Bearer x"]) expect(text).not.toContain(secret);
  });
});

describe("operatorMetrics", () => {
  it("returns one instance per registry, so the manager and kube client share series", () => {
    const r = new Registry();
    expect(operatorMetrics(r)).toBe(operatorMetrics(r));
    expect(operatorMetrics(new Registry())).not.toBe(operatorMetrics(r));
  });

  it("uses controller-runtime / client-go metric names", async () => {
    const r = new Registry();
    operatorMetrics(r);
    const names = (await r.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining([
      "controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total",
      "controller_runtime_terminal_reconcile_errors_total", "controller_runtime_reconcile_time_seconds",
      "controller_runtime_max_concurrent_reconciles", "controller_runtime_active_workers", "workqueue_depth",
      "workqueue_adds_total", "workqueue_retries_total", "workqueue_queue_duration_seconds",
      "workqueue_work_duration_seconds", "leader_election_master_status", "rest_client_requests_total",
    ]));
  });
});

describe("health and metrics servers", () => {
  const endpoints: HttpEndpoint[] = [];
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.close()));
  });

  it("serves /healthz always and /readyz from the checks", async () => {
    let ready = false;
    const e = await startHealthServer(0, { caches: () => (ready ? { ok: true } : { ok: false, detail: "not synced" }) }, "127.0.0.1");
    endpoints.push(e);
    const base = `http://127.0.0.1:${e.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain("not synced");
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  });

  it("serves /metrics in Prometheus text format", async () => {
    const r = new Registry();
    operatorMetrics(r).reconcileTotal.inc({ controller: "c", result: "success" });
    const e = await startMetricsServer(0, r, "127.0.0.1");
    endpoints.push(e);
    const text = await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text();
    expect(text).toContain('controller_runtime_reconcile_total{controller="c",result="success"} 1');
  });
});
