import { describe, expect, it } from "vitest";
import { ObjectCache } from "./object-cache.js";
import type { KubeObject } from "./types.js";

const obj = (namespace: string, name: string, labels?: Record<string, string>): KubeObject =>
  ({ metadata: { namespace, name, labels } });

describe("ObjectCache", () => {
  it("lists by namespace and by every given label, keeping indexes right across updates and removals", () => {
    const c = new ObjectCache();
    c.upsert(obj("a", "1", { app: "x", tier: "web" }));
    c.upsert(obj("a", "2", { app: "x" }));
    c.upsert(obj("b", "3", { app: "x", tier: "web" }));
    expect(c.list("a").map((o) => o.metadata.name).sort()).toEqual(["1", "2"]);
    expect(c.list(undefined, { app: "x", tier: "web" }).map((o) => o.metadata.name).sort()).toEqual(["1", "3"]);
    expect(c.list("a", { tier: "web" }).map((o) => o.metadata.name)).toEqual(["1"]);
    c.upsert(obj("a", "1", { app: "y" }));
    expect(c.list(undefined, { tier: "web" }).map((o) => o.metadata.name)).toEqual(["3"]);
    c.remove(obj("b", "3"));
    expect(c.list(undefined, { tier: "web" })).toEqual([]);
    expect(c.list("b")).toEqual([]);
    expect(c.size).toBe(2);
  });

  it("holds 10k objects and answers a label query without scanning them all", () => {
    const c = new ObjectCache();
    for (let i = 0; i < 10_000; i++) c.upsert(obj(`ns${i % 10}`, `o${i}`, { run: `r${i % 1000}` }));
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) c.list("ns1", { run: "r1" });
    expect(c.list("ns1", { run: "r1" })).toHaveLength(10);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
