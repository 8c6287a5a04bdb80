import { describe, expect, it } from "vitest";
import {
  defaultControllerRateLimiter, ExponentialBackoffRateLimiter, MaxOfRateLimiter, TokenBucketRateLimiter,
} from "./rate-limiter.js";

const manualClock = (start = 0): { now: () => number; advance: (ms: number) => void } => {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
};

describe("ExponentialBackoffRateLimiter", () => {
  it("doubles per failure from the base and caps at the max", () => {
    const l = new ExponentialBackoffRateLimiter(1_000, 300_000);
    const delays = Array.from({ length: 11 }, () => l.when("k"));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]);
  });

  it("tracks keys independently and resets on forget", () => {
    const l = new ExponentialBackoffRateLimiter(1_000, 300_000);
    l.when("a");
    l.when("a");
    expect(l.when("b")).toBe(1_000);
    l.forget("a");
    expect(l.when("a")).toBe(1_000);
  });

  it("never overflows for very many failures", () => {
    const l = new ExponentialBackoffRateLimiter(1_000, 300_000);
    for (let i = 0; i < 2_000; i++) l.when("k");
    expect(l.when("k")).toBe(300_000);
  });
});

describe("TokenBucketRateLimiter", () => {
  it("lets a burst through without delay, then spaces requests at 1/qps", () => {
    const clock = manualClock();
    const l = new TokenBucketRateLimiter(10, 3, clock);
    expect([l.when("a"), l.when("b"), l.when("c")]).toEqual([0, 0, 0]);
    expect(l.when("d")).toBe(100);
    expect(l.when("e")).toBe(200);
  });

  it("refills with time up to the burst", () => {
    const clock = manualClock();
    const l = new TokenBucketRateLimiter(10, 2, clock);
    l.when("a");
    l.when("b");
    clock.advance(10_000);
    expect([l.when("c"), l.when("d"), l.when("e")]).toEqual([0, 0, 100]);
  });
});

describe("MaxOfRateLimiter / defaultControllerRateLimiter", () => {
  it("takes the slower of per-key back-off and the global bucket", () => {
    const clock = manualClock();
    const l = new MaxOfRateLimiter(new ExponentialBackoffRateLimiter(5, 1_000), new TokenBucketRateLimiter(1, 1, clock));
    expect(l.when("a")).toBe(5);
    expect(l.when("b")).toBe(1_000);
  });

  it("defaults to 1 s → 5 min per key", () => {
    const l = defaultControllerRateLimiter({ clock: manualClock() });
    expect(l.when("k")).toBe(1_000);
    expect(l.when("k")).toBe(2_000);
    expect(l.numRequeues("k")).toBe(2);
    l.forget("k");
    expect(l.numRequeues("k")).toBe(0);
  });
});
