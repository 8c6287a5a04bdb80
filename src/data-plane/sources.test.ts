import { describe, expect, it } from "vitest";
import { aTrainingRun } from "../../test/fixtures/builders.js";
import type { DataPlane } from "./data-plane.js";
import { SourceSnapshots } from "./sources.js";
import type { BlobStore } from "./store.js";

describe("SourceSnapshots: a git source whose credentials Secret is missing", () => {
  it("waits with the API's own reason, SourceSecretNotFound, naming the Secret and never fetching", async () => {
    const store = {} as BlobStore;
    const sources = new SourceSnapshots({ storeFor: async () => store } as unknown as DataPlane);
    const run = aTrainingRun((r) => ({ ...r, spec: { ...r.spec, source: { git: { url: "http://127.0.0.1:1/repo.git", revision: "main", secretRef: { name: "git-creds" } } } } }));
    const outcome = await sources.resolve(run, { readSecret: async () => undefined, readConfigMap: async () => undefined });
    expect(outcome).toEqual({ problem: { reason: "SourceSecretNotFound", message: "Secret git-creds (source.git.secretRef) not found", terminal: false, retryAfterMs: 30_000 } });
  });
});
