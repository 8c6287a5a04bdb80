import { describe, expect, it } from "vitest";
import { StaleReadGuard } from "./status-writer.js";

const at = (rv: string) => ({ metadata: { namespace: "ns", name: "run", resourceVersion: rv } });

describe("StaleReadGuard", () => {
  it("skips exactly the copies our writes replaced, until the cache moves past them", () => {
    const guard = new StaleReadGuard();
    expect(guard.isStale(at("1"))).toBe(false);
    guard.wrote(at("1"), at("2"));
    guard.wrote(at("2"), at("3"));
    expect(guard.isStale(at("1"))).toBe(true);
    expect(guard.isStale(at("2"))).toBe(true);
    expect(guard.isStale(at("3"))).toBe(false);
    expect(guard.isStale(at("1"))).toBe(false);
  });

  it("ignores writes that changed nothing and forgets deleted objects", () => {
    const guard = new StaleReadGuard();
    guard.wrote(at("5"), at("5"));
    expect(guard.isStale(at("5"))).toBe(false);
    guard.wrote(at("5"), at("6"));
    guard.forget({ namespace: "ns", name: "run" });
    expect(guard.isStale(at("5"))).toBe(false);
  });
});
