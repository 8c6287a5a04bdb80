import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { aTrainingRun } from "../../test/fixtures/builders.js";
import type { DataPlane } from "./data-plane.js";
import { KnownSnapshots } from "./known-snapshots.js";
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

describe("SourceSnapshots: an inline source stored before", () => {
  /** A store that only counts what it is asked (every call would be a request to the real one). */
  function countingStore() {
    const calls: string[] = [];
    const store = {
      where: "http://127.0.0.1:1/acct",
      missingObjects: async (hexes: string[]) => { calls.push("missing"); return new Set(hexes); },
      putObject: async () => { calls.push("put"); return true; },
      putManifest: async (bytes: Buffer) => { calls.push("manifest"); return `sha256:${createHash("sha256").update(bytes).digest("hex")}`; },
    };
    return { calls, store: store as unknown as BlobStore };
  }
  const inline = (content: string) => aTrainingRun((r) => ({ ...r, spec: { ...r.spec, source: { inline: { files: [{ path: "main.py", content }] } } } }));
  const ctx = { readSecret: async () => undefined, readConfigMap: async () => undefined };

  it("asks the store nothing for the same content again, until the entry expires; other content is uploaded", async () => {
    const { calls, store } = countingStore();
    let now = 0;
    const sources = new SourceSnapshots({ storeFor: async () => store } as unknown as DataPlane, new KnownSnapshots(() => now, 60_000));
    const first = await sources.resolve(inline("print(1)\n"), ctx);
    expect(calls).toEqual(["missing", "put", "manifest"]);
    const again = await sources.resolve(inline("print(1)\n"), ctx);
    expect(again).toEqual(first);
    expect(calls).toHaveLength(3);
    await sources.resolve(inline("print(2)\n"), ctx);
    expect(calls).toHaveLength(6);
    now = 60_000;
    await sources.resolve(inline("print(1)\n"), ctx);
    expect(calls).toHaveLength(9);
  });

  it("makes one upload for runs with the same content resolved at the same time", async () => {
    const { calls, store } = countingStore();
    const sources = new SourceSnapshots({ storeFor: async () => store } as unknown as DataPlane);
    const outcomes = await Promise.all([1, 2, 3].map(() => sources.resolve(inline("print(3)\n"), ctx)));
    expect(new Set(outcomes.map((o) => JSON.stringify(o))).size).toBe(1);
    expect(calls).toEqual(["missing", "put", "manifest"]);
  });
});
