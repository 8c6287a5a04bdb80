import { describe, expect, it } from "vitest";
import { hasFinalizer, withFinalizer, withoutFinalizer } from "./finalizers.js";

const F = "amlcompute.dev/finalizer";
const obj = (finalizers?: string[]): { metadata: { finalizers?: string[] } } => ({ metadata: { finalizers } });

describe("finalizers", () => {
  it.each([
    ["hasFinalizer with none", () => hasFinalizer(obj(), F), false],
    ["hasFinalizer present", () => hasFinalizer(obj(["x", F]), F), true],
    ["withFinalizer appends once", () => withFinalizer(obj(["x"]), F), ["x", F]],
    ["withFinalizer is idempotent", () => withFinalizer(obj([F, "x"]), F), [F, "x"]],
    ["withFinalizer on none", () => withFinalizer(obj(), F), [F]],
    ["withoutFinalizer removes it", () => withoutFinalizer(obj(["x", F]), F), ["x"]],
    ["withoutFinalizer on none", () => withoutFinalizer(obj(), F), []],
  ])("%s", (_n, f, want) => expect(f()).toEqual(want));

  it("never mutates the object", () => {
    const o = obj(["x"]);
    withFinalizer(o, F);
    withoutFinalizer(o, "x");
    expect(o.metadata.finalizers).toEqual(["x"]);
  });
});
