// The content-addressed store against a real Azurite: dedupe, incremental uploads, digest checks,
// SAS scope, run data deletion and unreachable-store errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Azurite } from "../../azure-emulator/azurite.js";
import { DataPlane } from "../../../src/data-plane/data-plane.js";
import { dataPlaneEnv, storeSettings } from "../../../src/data-plane/config.js";
import { StoreError } from "../../../src/data-plane/errors.js";
import { attemptPrefix, DEFAULT_CONTAINERS, manifestBlobName, objectBlobName } from "../../../src/data-plane/layout.js";
import { hexOfDigest, sha256Of } from "../../../src/data-plane/manifest.js";
import { BlobStore } from "../../../src/data-plane/store.js";
import { entriesOfBuffers, SnapshotRejected, uploadSnapshot } from "../../../src/data-plane/upload.js";
import { connectionStringOf, storeOnAzurite } from "./support.js";

const tree = (edit = "v1") => entriesOfBuffers([
  { path: "train.py", content: Buffer.from("print('hi')\n"), mode: 0o755 },
  { path: "data/blob.bin", content: Buffer.from([0, 255, 1, 254, 0x80]) },
  { path: "data/copy.bin", content: Buffer.from([0, 255, 1, 254, 0x80]) },
  { path: "ünï/ñame.txt", content: Buffer.from(edit) },
  { path: "empty", content: Buffer.alloc(0) },
]);

describe("BlobStore on Azurite", () => {
  let az: Azurite;
  let store: BlobStore;
  beforeAll(async () => ({ az, store } = await storeOnAzurite()));
  afterAll(async () => az?.close());

  it("uploads each content once and, the second time, only what changed", async () => {
    const first = await uploadSnapshot(store, tree());
    expect(first).toMatchObject({ files: 5, uploadedFiles: 4 }); // blob.bin and copy.bin share one object
    const again = await uploadSnapshot(store, tree());
    expect(again).toMatchObject({ digest: first.digest, uploadedFiles: 0, uploadedBytes: 0 });
    const edited = await uploadSnapshot(store, tree("v2"));
    expect(edited.uploadedFiles).toBe(1);
    expect(edited.uploadedBytes).toBe(2);
    expect(edited.digest).not.toBe(first.digest);
  });

  it("finds exactly which contents are missing, in batches for many (listings) and one by one for few", async () => {
    const contents = Array.from({ length: 300 }, (_, i) => Buffer.from(`batch ${i} ${Date.now()}`));
    const half = entriesOfBuffers(contents.slice(0, 150).map((content, i) => ({ path: `f${i}`, content })));
    await uploadSnapshot(store, half);
    const hexes = contents.map((c) => sha256Of(c));
    // 300 contents: listed per leading digit; 10: one existence check each. Both exact.
    expect([...await store.missingObjects(hexes)].sort()).toEqual(hexes.slice(150).sort());
    expect([...await store.missingObjects(hexes.slice(145, 155))].sort()).toEqual(hexes.slice(150, 155).sort());
  });

  it("reads a manifest back verified, and refuses one whose blob was changed", async () => {
    const up = await uploadSnapshot(store, tree("verify"));
    const manifest = await store.getManifest(up.digest);
    expect(manifest?.files.map((f) => f.path)).toEqual(["data/blob.bin", "data/copy.bin", "empty", "train.py", "ünï/ñame.txt"]);
    expect(manifest?.files.find((f) => f.path === "train.py")?.mode).toBe(0o755);
    await store.service.getContainerClient(DEFAULT_CONTAINERS.snapshots).getBlockBlobClient(manifestBlobName(hexOfDigest(up.digest))).uploadData(Buffer.from("{}"));
    await expect(store.getManifest(up.digest)).rejects.toMatchObject({ reason: "SnapshotCorrupt" });
    expect(await store.getManifest(`sha256:${"0".repeat(64)}`)).toBeUndefined();
  });

  it("rejects bad trees before uploading anything", async () => {
    await expect(uploadSnapshot(store, entriesOfBuffers([{ path: "../x", content: Buffer.from("x") }]))).rejects.toBeInstanceOf(SnapshotRejected);
    await expect(uploadSnapshot(store, entriesOfBuffers([{ path: "a", content: Buffer.from("1") }, { path: "a/b", content: Buffer.from("2") }])))
      .rejects.toThrow(/both a file and the directory/);
    const big = entriesOfBuffers([{ path: "big.bin", content: Buffer.alloc(2048) }, { path: "small", content: Buffer.from("s") }]);
    await expect(uploadSnapshot(store, big, { limits: { maxBytes: 1024, maxFiles: 10 } })).rejects.toMatchObject({ reason: "SourceTooLarge", message: expect.stringContaining("big.bin (2.0 KiB)") });
  });

  it("hands targets a read SAS that reads objects but cannot list or write, and a write SAS for the attempt", async () => {
    const up = await uploadSnapshot(store, tree("sas"));
    const readUrl = await store.snapshotReadUrl(new Date());
    const [base, sas] = readUrl.split("?");
    const hex = sha256Of("sas");
    const got = await fetch(`${base}/${objectBlobName(hex)}?${sas}`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("sas");
    expect((await fetch(`${base}?restype=container&comp=list&${sas}`)).status).toBe(403);
    const put = await fetch(`${base}/objects/sha256/evil?${sas}`, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "x" });
    expect(put.status).toBe(403);
    const run = { namespace: "ns", name: "r", uid: "u1" };
    const writeUrl = await store.runWriteUrl(attemptPrefix(run, 1), new Date());
    const [wbase, wsas] = writeUrl.split("?");
    expect(wbase).toMatch(/\/aml-runs\/ns\/r-u1\/attempt-1$/);
    const w = await fetch(`${wbase}/outputs/m.bin?${wsas}`, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "model" });
    expect(w.status).toBe(201);
    expect(up.digest).toMatch(/^sha256:/);
  });

  it("deletes everything of a run and nothing of another", async () => {
    const dp = new DataPlane(dataPlaneEnv({ AML_STORE_CONNECTION_STRING: connectionStringOf(az) }));
    const s = await dp.storeFor("ns", async () => undefined);
    const a = { namespace: "ns", name: "a", uid: "1" };
    const b = { namespace: "ns", name: "a-1", uid: "2" };
    await s.writeRunBlob(`${attemptPrefix(a, 1)}outputs/x`, Buffer.from("x"));
    await s.writeRunBlob(`${attemptPrefix(a, 2)}result.json`, Buffer.from(JSON.stringify({ version: 1, reason: "Completed", executed: true, exitCode: 0 })));
    await s.writeRunBlob(`${attemptPrefix(b, 1)}outputs/y`, Buffer.from("y"));
    expect(await dp.readResult(s, a, 2)).toMatchObject({ reason: "Completed", exitCode: 0 });
    expect(await dp.deleteRunData(s, a)).toBe(2);
    expect(await dp.deleteRunData(s, a)).toBe(0);
    expect(await s.readRunBlob(`${attemptPrefix(b, 1)}outputs/y`)).toEqual(Buffer.from("y"));
  });

  it("reports an unreachable store as StoreUnavailable without a URL in the message", async () => {
    const dead = new BlobStore(storeSettings({ connectionString: connectionStringOf(az).replace(`:${az.port}/`, ":1/") }, "test", { containers: DEFAULT_CONTAINERS, sasLifetimeMs: 60_000 }));
    const err = await dead.missingObjects(["a".repeat(64)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe("StoreUnavailable");
    expect((err as Error).message).toContain("127.0.0.1:1/devstoreaccount1");
    expect((err as Error).message).not.toContain("sig=");
  });

  it("says which namespace has no store", async () => {
    await expect(new DataPlane(dataPlaneEnv({})).storeFor("team-a", async () => undefined)).rejects.toMatchObject({ reason: "StoreNotConfigured", message: expect.stringContaining("team-a/aml-store") });
  });
});
