import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The operator's resident memory is mostly the code it has loaded. The Blob SDK, @azure/identity
// and isomorphic-git load with the first store, token and git source, and a provider's SDKs with
// the first target of its type: none of them when the operator starts.

/** Every module src/main.ts imports (the composition root itself would start the operator). */
function startupModules(): string[] {
  const main = new URL("./main.ts", import.meta.url);
  return [...readFileSync(main, "utf8").matchAll(/^import .* from "(.+)";$/gm)].map((m) => m[1]!)
    .map((spec) => (spec.startsWith(".") ? new URL(spec, main).href : spec));
}

/** The npm packages a fresh Node process resolves while importing `modules`. */
function packagesLoadedBy(modules: readonly string[]): string[] {
  const probe = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({ resolve(spec, ctx, next) {
      const r = next(spec, ctx);
      const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
      if (m) seen.add(m[1]);
      return r;
    } });
    for (const m of ${JSON.stringify(modules)}) await import(m);
    console.log(JSON.stringify([...seen]));
  `;
  return JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe], { encoding: "utf8" })) as string[];
}

describe("what the operator loads at start", () => {
  it("leaves out the Blob SDK, Azure identity, the providers' SDKs and isomorphic-git until something needs them", () => {
    const modules = startupModules();
    expect(modules.length).toBeGreaterThan(10);
    const loaded = packagesLoadedBy(modules);
    expect(loaded).toContain("@kubernetes/client-node");
    for (const lazy of ["@azure/storage-blob", "@azure/identity", "@azure/arm-machinelearning", "@azure/arm-batch", "ssh2", "isomorphic-git"]) {
      expect(loaded).not.toContain(lazy);
    }
  }, 60_000); // a fresh Node process transpiles the whole operator
});
