import { describe, expect, it } from "vitest";
import type { KubeObject, ObjectKey } from "../kube/types.js";
import { enqueueSelf } from "./event-handlers.js";

const obj = (rv: string, extra: Partial<KubeObject["metadata"]> = {}, status: unknown = {}): KubeObject =>
  ({ metadata: { namespace: "ns", name: "t", generation: 1, resourceVersion: rv, ...extra }, status });

describe("enqueueSelf", () => {
  it("with ignoreStatusOnly, a status-only update (the controller's own write) does not enqueue; spec and metadata changes do", () => {
    const keys: ObjectKey[] = [];
    const h = enqueueSelf((k) => keys.push(k), { ignoreStatusOnly: true });
    h.update?.(obj("2", {}, { lastProbeTime: "b" }), obj("1", {}, { lastProbeTime: "a" }));
    expect(keys).toHaveLength(0);
    h.update?.(obj("3", { generation: 2 }), obj("2"));
    h.update?.(obj("4", { deletionTimestamp: "2026-01-01T00:00:00Z" }), obj("3"));
    h.update?.(obj("5", { annotations: { a: "b" } }), obj("4"));
    h.add?.(obj("1"));
    expect(keys).toHaveLength(4);
  });

  it("by default every update enqueues (controllers that rely on their own write's event)", () => {
    const keys: ObjectKey[] = [];
    enqueueSelf((k) => keys.push(k)).update?.(obj("2", {}, { x: 1 }), obj("1"));
    expect(keys).toHaveLength(1);
  });
});
