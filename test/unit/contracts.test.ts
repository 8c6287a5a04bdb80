import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contractOf, type Service } from "../contracts/index.js";

// The contracts themselves: every schema compiles under ajv's strict mode, names its source
// document and commit, and every operation points at schema files that exist.
const SERVICES: Service[] = ["azureml", "batch", "databricks"];
const dir = (s: Service) => join(import.meta.dirname, "..", "contracts", s);

describe.each(SERVICES)("contracts of %s", (service) => {
  it("compile, and each schema cites its source", () => {
    expect(() => contractOf(service)).not.toThrow();
    for (const f of readdirSync(dir(service)).filter((x) => x.endsWith(".json"))) {
      const doc = JSON.parse(readFileSync(join(dir(service), f), "utf8")) as { $comment?: string };
      expect(doc.$comment, f).toMatch(/specification\/[^ ]+ @ [0-9a-f]{40}|articles\/[^ ]+ @ [0-9a-f]{40}|databricks-sdk-py|jobs-2\.1-azure\.yaml/);
    }
  });

  it("operations name only schema files that exist", () => {
    const ops = JSON.parse(readFileSync(join(dir(service), "operations.json"), "utf8")) as { operations: { request?: string; responses: Record<string, { body?: string }> }[] };
    const files = new Set(readdirSync(dir(service)));
    for (const op of ops.operations) {
      for (const f of [op.request, ...Object.values(op.responses).map((r) => r.body)].filter(Boolean)) expect(files.has(f!), f).toBe(true);
    }
  });
});

it("a request validator refuses read-only fields; a response validator accepts them", () => {
  const c = contractOf("azureml");
  const body = { properties: { computeType: "AmlCompute", provisioningState: "Succeeded" } };
  expect(c.check("request", "compute.put.request.json", body).map((v) => v.message)).toContain("is read-only and must not be sent");
  expect(c.check("response", "compute.put.request.json", body)).toEqual([]);
});
