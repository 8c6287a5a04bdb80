import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ExponentialBackoffRateLimiter } from "./rate-limiter.js";
import { MAX_DELAY_MS, URGENT_STREAK, WorkQueue } from "./workqueue.js";

const newQueue = (): WorkQueue => new WorkQueue({ rateLimiter: new ExponentialBackoffRateLimiter(1_000, 300_000) });

describe("WorkQueue", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("hands out a key added many times only once", async () => {
    const q = newQueue();
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    q.add("ns/a");
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe("ns/a");
    expect(await q.get()).toBe("ns/b");
    expect(q.len()).toBe(0);
  });

  it("re-queues a key on done() when it was added while being processed, never handing it out twice at once", async () => {
    const q = newQueue();
    q.add("ns/a");
    const key = await q.get();
    q.add("ns/a");
    expect(q.len()).toBe(0);
    const second = q.get();
    let resolved = false;
    void second.then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    q.done(key as string);
    expect(await second).toBe("ns/a");
  });

  it("does not re-queue a key on done() when nobody added it meanwhile", async () => {
    const q = newQueue();
    q.add("ns/a");
    q.done((await q.get()) as string);
    expect(q.len()).toBe(0);
  });

  it("hands out urgent keys before the others, and moves a queued key ahead when it becomes urgent", async () => {
    const urgent = new Set(["ns/done-1"]);
    const q = new WorkQueue({ isUrgent: (k) => urgent.has(k) });
    for (const k of ["ns/new-1", "ns/new-2", "ns/done-1", "ns/new-3"]) q.add(k);
    urgent.add("ns/new-3");
    q.add("ns/new-3");
    expect(q.len()).toBe(4);
    const order = [];
    for (let i = 0; i < 4; i++) order.push(await q.get());
    expect(order).toEqual(["ns/done-1", "ns/new-3", "ns/new-1", "ns/new-2"]);
    expect(q.len()).toBe(0);
  });

  it("gives a waiting normal key its turn after URGENT_STREAK urgent ones in a row (no starvation)", async () => {
    const q = new WorkQueue({ isUrgent: (k) => k.startsWith("ns/done") });
    const done = Array.from({ length: URGENT_STREAK * 2 + 1 }, (_, i) => `ns/done-${i}`);
    for (const k of ["ns/new-1", "ns/new-2", ...done]) q.add(k);
    const order = [];
    for (let i = 0; i < done.length + 2; i++) order.push(await q.get());
    expect(order.indexOf("ns/new-1")).toBe(URGENT_STREAK);
    expect(order.indexOf("ns/new-2")).toBe(URGENT_STREAK * 2 + 1);
  });

  it("resolves a waiting get() as soon as a key is added", async () => {
    const q = newQueue();
    const pending = q.get();
    q.add("ns/x");
    expect(await pending).toBe("ns/x");
  });

  it("clamps a delay beyond the timer limit (~24.8 days) instead of firing at once", () => {
    const q = newQueue();
    const thirtyDays = 30 * 24 * 3600 * 1000;
    q.addAfter("ns/ttl", thirtyDays);
    q.addAfter("ns/edge", MAX_DELAY_MS);
    vi.advanceTimersByTime(1_000);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(MAX_DELAY_MS - 1_000);
    expect(q.len()).toBe(2);
  });

  it("keeps the earliest deadline when addAfter is called repeatedly for one key", async () => {
    const q = newQueue();
    q.addAfter("ns/a", 10_000);
    q.addAfter("ns/a", 1_000);
    q.addAfter("ns/a", 5_000);
    vi.advanceTimersByTime(999);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("ns/a");
    q.done("ns/a");
    vi.advanceTimersByTime(20_000);
    expect(q.len()).toBe(0);
  });

  it("adds immediately for a non-positive delay", () => {
    const q = newQueue();
    q.addAfter("ns/a", 0);
    expect(q.len()).toBe(1);
  });

  it("backs off exponentially with addRateLimited and starts over after forget", () => {
    const q = newQueue();
    q.addRateLimited("ns/a");
    expect(q.numRequeues("ns/a")).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(q.len()).toBe(1);
    q.addRateLimited("ns/b");
    q.addRateLimited("ns/b");
    q.addRateLimited("ns/b");
    expect(q.numRequeues("ns/b")).toBe(3);
    q.forget("ns/b");
    expect(q.numRequeues("ns/b")).toBe(0);
  });

  it("resolves idle getters with undefined and ignores adds after shutDown", async () => {
    const q = newQueue();
    const idle = q.get();
    q.shutDown();
    expect(await idle).toBeUndefined();
    q.add("ns/a");
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it("still hands out keys queued before shutDown, then undefined (client-go)", async () => {
    const q = newQueue();
    q.add("ns/a");
    q.shutDown();
    expect(await q.get()).toBe("ns/a");
    expect(await q.get()).toBeUndefined();
  });

  it("cancels delayed keys on shutDown", () => {
    const q = newQueue();
    q.addAfter("ns/a", 1_000);
    q.shutDown();
    vi.advanceTimersByTime(5_000);
    expect(q.len()).toBe(0);
  });

  it("drains: shutDownWithDrain resolves only after in-flight keys are done", async () => {
    const q = newQueue();
    q.add("ns/a");
    const key = (await q.get()) as string;
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(key);
    await drain;
    expect(drained).toBe(true);
  });

  it("reports adds, depth, retries and latencies to the metrics hooks", async () => {
    const calls: string[] = [];
    const q = new WorkQueue({
      metrics: {
        add: () => calls.push("add"), depth: (n) => calls.push(`depth=${n}`), retry: () => calls.push("retry"),
        queueLatency: () => calls.push("latency"), workDuration: () => calls.push("work"),
      },
    });
    q.add("ns/a");
    q.done((await q.get()) as string);
    q.addAfter("ns/a", 10);
    expect(calls).toEqual(["add", "depth=1", "depth=0", "latency", "work", "retry"]);
  });
});
