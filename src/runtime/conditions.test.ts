import { describe, expect, it } from "vitest";
import { getCondition, isFalse, isTrue, setCondition, statusEqual, type Condition } from "./conditions.js";

const t0 = new Date("2025-01-01T00:00:00.000Z");
const t1 = new Date("2025-01-01T01:00:00.000Z");
const ready = (status: Condition["status"], reason = "Ok"): Omit<Condition, "lastTransitionTime"> =>
  ({ type: "Ready", status, reason, message: "", observedGeneration: 1 });

describe("setCondition", () => {
  it("appends a missing condition with lastTransitionTime = now", () => {
    const list = setCondition([], ready("True"), t0);
    expect(list).toEqual([{ ...ready("True"), lastTransitionTime: t0.toISOString() }]);
  });

  it("keeps lastTransitionTime when the status is unchanged but reason/message change", () => {
    const first = setCondition([], ready("False", "Waiting"), t0);
    const second = setCondition(first, { ...ready("False", "StillWaiting"), message: "x", observedGeneration: 2 }, t1);
    expect(second[0]).toMatchObject({ reason: "StillWaiting", message: "x", observedGeneration: 2, lastTransitionTime: t0.toISOString() });
  });

  it("moves lastTransitionTime when the status flips", () => {
    const list = setCondition(setCondition([], ready("False"), t0), ready("True"), t1);
    expect(list[0]?.lastTransitionTime).toBe(t1.toISOString());
  });

  it("replaces in place, leaves other types alone and does not mutate the input", () => {
    const other: Condition = { type: "Running", status: "True", reason: "R", message: "", lastTransitionTime: t0.toISOString() };
    const input = [other, { ...ready("False"), lastTransitionTime: t0.toISOString() }];
    const copy = structuredClone(input);
    const out = setCondition(input, ready("True"), t1);
    expect(input).toEqual(copy);
    expect(out.map((c) => c.type)).toEqual(["Running", "Ready"]);
    expect(out[0]).toBe(other);
  });
});

describe("getCondition / isTrue / isFalse", () => {
  const list = setCondition([], ready("True"), t0);
  it.each([
    ["finds by type", () => getCondition(list, "Ready")?.status, "True"],
    ["returns undefined for a missing type", () => getCondition(list, "Nope"), undefined],
    ["isTrue on True", () => isTrue(list, "Ready"), true],
    ["isTrue on missing", () => isTrue(undefined, "Ready"), false],
    ["isFalse on True", () => isFalse(list, "Ready"), false],
  ])("%s", (_n, f, want) => expect(f()).toEqual(want));
});

describe("statusEqual", () => {
  it.each([
    ["ignores key order", { a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 }, true],
    ["treats undefined-valued keys as absent", { a: 1, b: undefined }, { a: 1 }, true],
    ["sees array order", { a: [1, 2] }, { a: [2, 1] }, false],
    ["sees a changed leaf", { a: { b: "x" } }, { a: { b: "y" } }, false],
    ["sees an extra key", { a: 1 }, { a: 1, b: 2 }, false],
    ["distinguishes array from object", { a: [] }, { a: {} }, false],
    ["distinguishes null from object", { a: null }, { a: {} }, false],
    ["compares primitives", 1, 1, true],
  ])("%s", (_n, a, b, want) => expect(statusEqual(a, b)).toBe(want));
});
