import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { computeNameProblem, deriveComputeName, type ComputeKind } from "./compute-names.js";

/** A Kubernetes object name (RFC 1123 subdomain): lower-case letters, digits, "-" and ".", 1-253 chars. */
function randomKubeName(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-.";
  const len = 1 + (randomBytes(1)[0]! % 60);
  const chars = [...randomBytes(len)].map((b) => alphabet[b % alphabet.length]!);
  chars[0] = "a0"[randomBytes(1)[0]! % 2]!;
  return chars.join("");
}

describe("Azure ML compute names", () => {
  it.each<[string, ComputeKind, boolean]>([
    ["cpu", "cluster", true],
    ["ab", "cluster", false],
    ["gpu-cluster", "cluster", true],
    ["cpu-cluster-1", "cluster", false],
    ["cpu-1a", "cluster", true],
    ["a-1-b", "cluster", true],
    ["abc-", "cluster", false],
    ["1abc", "cluster", false],
    ["abc_d", "cluster", false],
    ["abcdefghijklmnopqrstuvwx", "cluster", true],
    ["abcdefghijklmnopqrstuvwxy", "cluster", false],
    ["abcdefghijklmnop", "attached", true],
    ["abcdefghijklmnopq", "attached", false],
  ])("%s as %s: valid=%s", (name, kind, valid) => {
    expect(computeNameProblem(name, kind) === undefined).toBe(valid);
  });

  it("keeps a valid name as it is", () => {
    expect(deriveComputeName("gpu-cluster", "cluster")).toBe("gpu-cluster");
    expect(deriveComputeName("spark-hdi", "attached")).toBe("spark-hdi");
  });

  it("derives a valid, stable name from names Azure ML refuses", () => {
    for (const name of ["ab", "x", "gpu-1", "9lives", "spark.hdi", "a-very-long-computetarget-name-for-spark", "-", "..."]) {
      for (const kind of ["cluster", "attached"] as const) {
        const derived = deriveComputeName(name, kind);
        expect(computeNameProblem(derived, kind), `${name} → ${derived}`).toBeUndefined();
        expect(deriveComputeName(name, kind)).toBe(derived);
      }
    }
    expect(deriveComputeName("spark.cluster-for-the-analytics-team", "attached"))
      .not.toBe(deriveComputeName("spark.cluster-for-the-analytics-team-2", "attached"));
  });

  it("every Kubernetes name gives a valid compute name of either kind (2000 random names)", () => {
    for (let i = 0; i < 2000; i++) {
      const name = randomKubeName();
      for (const kind of ["cluster", "attached"] as const) {
        expect(computeNameProblem(deriveComputeName(name, kind), kind), name).toBeUndefined();
      }
    }
    for (let i = 0; i < 200; i++) expect(computeNameProblem(deriveComputeName(randomUUID(), "cluster"), "cluster")).toBeUndefined();
  });
});
