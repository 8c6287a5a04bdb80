import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BuiltinKinds, type ObjectKey } from "../kube/types.js";
import { operatorMetrics } from "../observability/metrics.js";
import { Controller, parseQueueKey, queueKey } from "./controller.js";
import { ConflictError, InvalidError, TerminalError, TransientError } from "./errors.js";
import { ExponentialBackoffRateLimiter } from "./rate-limiter.js";
import { done, requeueAfter, type Reconciler, type Result } from "./result.js";

const key: ObjectKey = { namespace: "ns", name: "a" };

function harness(reconcile: Reconciler, concurrency = 1): { controller: Controller; registry: Registry } {
  const registry = new Registry();
  const controller = new Controller(
    { name: "test", forKind: BuiltinKinds.ConfigMap, reconcile, concurrency },
    { logger: pino({ level: "silent" }), metrics: operatorMetrics(registry), rateLimiter: new ExponentialBackoffRateLimiter(1_000, 60_000) },
  );
  return { controller, registry };
}

/** A reconciler that plays `outcomes` in order (a function result throws) and counts calls. */
function scripted(...outcomes: Array<Result | Error>): { reconcile: Reconciler; calls: () => number } {
  let n = 0;
  return {
    calls: () => n,
    reconcile: async () => {
      const outcome = outcomes[Math.min(n++, outcomes.length - 1)];
      if (outcome instanceof Error) throw outcome;
      return outcome ?? done();
    },
  };
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return (v?.value as number | undefined) ?? 0;
}

describe("Controller result/throw contract", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("done(): reconciles once and forgets the key", async () => {
    const s = scripted(done());
    const { controller, registry } = harness(s.reconcile);
    controller.start();
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.calls()).toBe(1);
    expect(controller.queue.numRequeues(queueKey(key))).toBe(0);
    expect(await metric(registry, "controller_runtime_reconcile_total", { result: "success" })).toBe(1);
  });

  it("requeueAfter(ms): polls again after exactly ms, without back-off", async () => {
    const s = scripted(requeueAfter(5_000), done());
    const { controller, registry } = harness(s.reconcile);
    controller.start();
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(s.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls()).toBe(2);
    expect(controller.queue.numRequeues(queueKey(key))).toBe(0);
    expect(await metric(registry, "controller_runtime_reconcile_total", { result: "requeue_after" })).toBe(1);
  });

  it("plain error: retries with per-key exponential back-off and counts an error", async () => {
    const s = scripted(new Error("boom"), new Error("boom"), done());
    const { controller, registry } = harness(s.reconcile);
    controller.start();
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(999);
    expect(s.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(s.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls()).toBe(3);
    expect(await metric(registry, "controller_runtime_reconcile_errors_total", {})).toBe(2);
  });

  it("TransientError with retryAfterMs: retries after that delay and counts an error", async () => {
    const s = scripted(new TransientError("throttled", 7_000), done());
    const { controller, registry } = harness(s.reconcile);
    controller.start();
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(6_999);
    expect(s.calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls()).toBe(2);
    expect(await metric(registry, "controller_runtime_reconcile_errors_total", {})).toBe(1);
  });

  it.each([
    ["TerminalError", new TerminalError("bad spec", "BadSpec")],
    ["InvalidError (a TerminalError)", new InvalidError("422")],
  ])("%s: never retried, counted as terminal", async (_name, err) => {
    const s = scripted(err, done());
    const { controller, registry } = harness(s.reconcile);
    controller.start();
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(s.calls()).toBe(1);
    expect(await metric(registry, "controller_runtime_terminal_reconcile_errors_total", {})).toBe(1);
    expect(await metric(registry, "controller_runtime_reconcile_errors_total", {})).toBe(1);
  });

  it("ConflictError: requeued rate-limited and not counted as an error", async () => {
    const s = scripted(new ConflictError("409"), done());
    const { controller, registry } = harness(s.reconcile);
    controller.start();
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.calls()).toBe(2);
    expect(await metric(registry, "controller_runtime_reconcile_errors_total", {})).toBe(0);
    expect(await metric(registry, "controller_runtime_reconcile_total", { result: "requeue" })).toBe(1);
  });

  it("passes a child logger, a unique reconcileId and an AbortSignal", async () => {
    const ids: string[] = [];
    const { controller } = harness(async (_k, ctx) => {
      ids.push(ctx.reconcileId);
      expect(ctx.signal?.aborted).toBe(false);
      return done();
    });
    controller.start();
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(0);
    controller.enqueue(key);
    await vi.advanceTimersByTimeAsync(0);
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

describe("Controller concurrency and shutdown", () => {
  it("never reconciles one key twice at once, even with many workers", async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const { controller } = harness(async () => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return done();
    }, 4);
    controller.start();
    for (let i = 0; i < 20; i++) {
      controller.enqueue(key);
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(maxActive).toBe(1);
    expect(calls).toBeGreaterThan(1);
    await controller.stop(1_000);
  });

  it("runs different keys in parallel up to the concurrency", async () => {
    let active = 0;
    let maxActive = 0;
    const { controller } = harness(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      return done();
    }, 3);
    controller.start();
    for (const name of ["a", "b", "c", "d", "e"]) controller.enqueue({ namespace: "ns", name });
    await new Promise((r) => setTimeout(r, 100));
    expect(maxActive).toBe(3);
    await controller.stop(1_000);
  });

  it("stop() waits for in-flight reconciles and drops queued keys", async () => {
    const seen: string[] = [];
    let release: () => void = () => {};
    const { controller } = harness(async (k) => {
      seen.push(k.name);
      await new Promise<void>((r) => (release = r));
      return done();
    });
    controller.start();
    controller.enqueue({ namespace: "ns", name: "first" });
    controller.enqueue({ namespace: "ns", name: "second" });
    await new Promise((r) => setTimeout(r, 5));
    let stopped = false;
    const stopping = controller.stop(5_000).then((ok) => (stopped = ok));
    await new Promise((r) => setTimeout(r, 5));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(seen).toEqual(["first"]);
  });

  it("stop() gives up after the deadline and aborts the reconcile's signal", async () => {
    let signal: AbortSignal | undefined;
    const { controller } = harness(async (_k, ctx) => {
      signal = ctx.signal;
      await new Promise(() => {});
      return done();
    });
    controller.start();
    controller.enqueue(key);
    await new Promise((r) => setTimeout(r, 5));
    expect(await controller.stop(20)).toBe(false);
    expect(signal?.aborted).toBe(true);
  });
});

describe("queue keys", () => {
  it.each([
    [{ namespace: "ns", name: "a" }],
    [{ namespace: "", name: "cluster-scoped" }],
  ])("round-trips %j", (k) => {
    expect(parseQueueKey(queueKey(k))).toEqual(k);
  });
});
