import { createServer, type Server } from "node:http";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun } from "../../test/fixtures/builders.js";
import type { ProviderContext } from "../providers/types.js";
import { RunMetricsService } from "./service.js";

// A stand-in for the MLflow REST endpoints prepare() calls, on 127.0.0.1, counting requests.
let server: Server;
let uri = "";
const calls: string[] = [];
let experimentGone = false;
let relookedUp = false;

beforeAll(async () => {
  let runs = 0;
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "", "http://x").pathname.replace("/api/2.0/mlflow/", "");
    calls.push(path);
    const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    req.resume().on("end", () => {
      if (path === "experiments/get-by-name") {
        if (experimentGone) relookedUp = true;
        return reply(200, { experiment: { experiment_id: experimentGone ? "2" : "1" } });
      }
      if (path === "runs/search") return reply(200, {});
      if (path === "runs/create" && experimentGone && !relookedUp) {
        return reply(404, { error_code: "RESOURCE_DOES_NOT_EXIST", message: "experiment 1 was deleted" });
      }
      if (path === "runs/create") return reply(200, { run: { info: { run_id: `r${++runs}` } } });
      reply(404, { error_code: "ENDPOINT_NOT_FOUND" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  uri = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const ctx = { log: pino({ level: "silent" }), now: new Date(), signal: new AbortController().signal } as ProviderContext;
const config = { computeTargetRef: { name: "local" }, framework: "Python" as const, nodeCount: 1, processCountPerNode: 1 };
const runNamed = (name: string) => aTrainingRun((r) => ({ ...r, metadata: { ...r.metadata, name, uid: `uid-${name}` } }));

describe("RunMetricsService.prepare", () => {
  it("looks an experiment up once, then costs each run a search and a create; an experiment gone is looked up again", async () => {
    const service = new RunMetricsService({ tracking: { uri }, now: () => Date.now() });
    const first = await service.prepare(runNamed("a"), aComputeTarget(), config, ctx);
    const second = await service.prepare(runNamed("b"), aComputeTarget(), config, ctx);
    expect(first.mlflow).toMatchObject({ experimentId: "1", runId: "r1" });
    expect(second.mlflow).toMatchObject({ experimentId: "1", runId: "r2" });
    expect(calls).toEqual(["experiments/get-by-name", "runs/search", "runs/create", "runs/search", "runs/create"]);

    calls.length = 0;
    experimentGone = true;
    const third = await service.prepare(runNamed("c"), aComputeTarget(), config, ctx);
    expect(third.warning).toBeUndefined();
    expect(third.mlflow).toMatchObject({ experimentId: "2" });
    expect(calls).toEqual(["runs/search", "runs/create", "experiments/get-by-name", "runs/search", "runs/create"]);
  });

  it("skips the search for a run created after the operator started reconciling, and reuses what it created on a retry", async () => {
    experimentGone = false;
    const startedAt = Date.parse("2026-01-01T00:00:00Z");
    const service = new RunMetricsService({ tracking: { uri }, now: () => Date.now(), reconcilingSince: () => startedAt });
    const createdAt = (name: string, iso: string) => aTrainingRun((r) => ({ ...r, metadata: { ...r.metadata, name, uid: `uid-${name}`, creationTimestamp: iso } }));
    calls.length = 0;
    const fresh = createdAt("fresh", "2026-01-01T00:01:00Z");
    const made = await service.prepare(fresh, aComputeTarget(), config, ctx);
    expect(calls).toEqual(["experiments/get-by-name", "runs/create"]);
    // The status write that should have kept the id failed: the retry creates nothing more.
    calls.length = 0;
    expect((await service.prepare(fresh, aComputeTarget(), config, ctx)).mlflow).toEqual(made.mlflow);
    expect(calls).toEqual([]);
    // Created before (or within seconds of) the start: an earlier operator may have made its MLflow run.
    await service.prepare(createdAt("older", "2026-01-01T00:00:02Z"), aComputeTarget(), config, ctx);
    expect(calls).toEqual(["runs/search", "runs/create"]);
  });
});
