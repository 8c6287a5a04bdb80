import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generatedFiles, renderCrd } from "../../../scripts/gen-crds.js";
import { ALL_CRDS } from "./crds.js";

describe("generated CRDs", () => {
  it("match the API source (run `make gen` after changing src/api)", () => {
    for (const [path, text] of generatedFiles()) expect(readFileSync(path, "utf8"), path).toBe(text);
  });

  it("describe every schema field, so `kubectl explain` reads well", () => {
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, path: string): void => {
      for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (!child.description && !["apiVersion", "kind", "metadata"].includes(name)) missing.push(`${path}.${name}`);
        walk(child, `${path}.${name}`);
        if (child.items) walk(child.items as Record<string, unknown>, `${path}.${name}[]`);
      }
    };
    for (const crd of ALL_CRDS) {
      const rendered = renderCrd(crd) as { spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] } };
      walk(rendered.spec.versions[0]!.schema.openAPIV3Schema, crd.kind);
    }
    expect(missing).toEqual([]);
  });
});
