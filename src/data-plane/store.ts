/**
 * The content-addressed store on the Azure Blob API. Objects and manifests are written with
 * If-None-Match: * — a name is its content's hash, so an existing blob is already right and
 * concurrent writers of the same content cannot disturb each other.
 */
import type { Readable } from "node:stream";
import type { TokenCredential } from "@azure/identity";
import {
  AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type ContainerClient,
} from "@azure/storage-blob";
import type { StoreSettings } from "./config.js";
import { mapLimit } from "./concurrency.js";
import { StoreError, StoreReason, toStoreError } from "./errors.js";
import { encodeBlobPath, manifestBlobName, objectBlobName } from "./layout.js";
import { digestOfBytes, hexOfDigest, MANIFEST_VERSION, sha256Of, type Manifest } from "./manifest.js";
import { SasIssuer, type SasPermission } from "./sas.js";
import { assertValidManifest } from "./validate.js";

export const EXISTS_CONCURRENCY = 16;
/** From this many distinct contents on, missingObjects lists instead of checking each. */
const LIST_THRESHOLD = 64;
const LIST_PAGES = 4;

const RETRY = { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2_000, tryTimeoutInMs: 120_000 };

/**
 * DefaultAzureCredential, imported on the first token request: @azure/identity (about 10 MiB of
 * resident memory) stays out of an operator whose store authenticates with a key or a SAS.
 */
function defaultAzureCredential(): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= import("@azure/identity").then((m) => new m.DefaultAzureCredential());
      return (await credential).getToken(scopes, options);
    },
  };
}

function serviceClient(s: StoreSettings): BlobServiceClient {
  const options = { retryOptions: RETRY, userAgentOptions: { userAgentPrefix: "aml-compute-operator" } };
  switch (s.auth.kind) {
    case "sharedKey": return new BlobServiceClient(s.url, new StorageSharedKeyCredential(s.auth.accountName, s.auth.accountKey), options);
    case "sas": return new BlobServiceClient(`${s.url}?${s.auth.sas}`, new AnonymousCredential(), options);
    case "token": return new BlobServiceClient(s.url, s.auth.credential ?? defaultAzureCredential(), options);
  }
}

const isStatus = (err: unknown, ...codes: number[]): boolean => codes.includes((err as { statusCode?: number }).statusCode ?? 0);

export interface RunBlob { readonly name: string; readonly size: number }

export class BlobStore {
  readonly service: BlobServiceClient;
  private readonly sas: SasIssuer;
  private containersReady?: Promise<void>;
  /** Host and path of the store, for messages (no credentials in it). */
  readonly where: string;

  constructor(readonly settings: StoreSettings) {
    this.service = serviceClient(settings);
    this.sas = new SasIssuer(settings, this.service);
    const u = new URL(settings.url);
    this.where = `${u.host}${u.pathname.replace(/\/$/, "")}`;
  }

  private container(name: string): ContainerClient {
    return this.service.getContainerClient(name);
  }
  private get snapshots(): ContainerClient { return this.container(this.settings.containers.snapshots); }
  private get runs(): ContainerClient { return this.container(this.settings.containers.runs); }

  /** Runs `op`, mapping store failures to StoreError (reason + message without URLs). */
  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw toStoreError(err, what, this.where);
    }
  }

  /** Creates both containers once per process (a SAS-only store may not be allowed to: then it skips). */
  ensureContainers(): Promise<void> {
    this.containersReady ??= this.call("creating the store's containers", async () => {
      if (this.settings.auth.kind === "sas") return;
      await Promise.all([this.snapshots.createIfNotExists(), this.runs.createIfNotExists()]);
    }).catch((err: unknown) => {
      this.containersReady = undefined;
      throw err;
    });
    return this.containersReady;
  }

  /**
   * The sha256s of `hexes` the store does not hold yet. Few: one existence check each. Many: in
   * batches — one listing per leading hex digit (`objects/sha256/<d>`, 5,000 names a page), 16
   * listings for a thousand files instead of a thousand HEADs; a digit whose listing runs past
   * LIST_PAGES pages (a store with very many objects) falls back to existence checks for its share.
   */
  async missingObjects(hexes: readonly string[], concurrency = EXISTS_CONCURRENCY): Promise<Set<string>> {
    await this.ensureContainers();
    const unique = [...new Set(hexes)];
    if (unique.length < LIST_THRESHOLD) return this.missingByHead(unique, concurrency);
    const groups = new Map<string, string[]>();
    for (const hex of unique) groups.set(hex[0]!, [...(groups.get(hex[0]!) ?? []), hex]);
    const missing = await mapLimit([...groups], concurrency, async ([digit, wanted]) => {
      const listed = await this.listedObjects(objectBlobName(digit), LIST_PAGES);
      return listed ? wanted.filter((hex) => !listed.has(hex)) : [...await this.missingByHead(wanted, concurrency)];
    });
    return new Set(missing.flat());
  }

  private async missingByHead(hexes: readonly string[], concurrency: number): Promise<Set<string>> {
    const exists = await mapLimit(hexes, concurrency, (hex) =>
      this.call("checking an object", () => this.snapshots.getBlockBlobClient(objectBlobName(hex)).exists()));
    return new Set(hexes.filter((_, i) => !exists[i]));
  }

  /**
   * The object names under `prefix` (hex only); undefined when there are more than `maxPages`
   * pages of them, or when the credential may not list (a SAS without `l`): then HEADs decide.
   */
  private async listedObjects(prefix: string, maxPages: number): Promise<Set<string> | undefined> {
    const names = new Set<string>();
    const pages = this.snapshots.listBlobsFlat({ prefix }).byPage({ maxPageSize: 5_000 });
    for (let page = 0; ; page++) {
      let next: Awaited<ReturnType<typeof pages.next>>;
      try {
        next = await pages.next();
      } catch (err) {
        if (isStatus(err, 403)) return undefined;
        throw toStoreError(err, "listing objects", this.where);
      }
      if (next.done) return names;
      if (page >= maxPages) return undefined;
      for (const b of next.value.segment.blobItems) names.add(b.name.slice(prefix.length - 1));
    }
  }

  /** Stores `data` under its sha256 (which the caller computed: checked here); false when it was there. */
  async putObject(hex: string, data: Buffer): Promise<boolean> {
    if (sha256Of(data) !== hex) throw new Error(`content changed while uploading (sha256 ${hex.slice(0, 12)}… expected)`);
    return this.putIfAbsent(this.snapshots, objectBlobName(hex), data, "application/octet-stream");
  }

  private async putIfAbsent(container: ContainerClient, name: string, data: Buffer, contentType: string): Promise<boolean> {
    return this.call(`writing ${name}`, async () => {
      try {
        await container.getBlockBlobClient(name).uploadData(data, {
          conditions: { ifNoneMatch: "*" }, blobHTTPHeaders: { blobContentType: contentType },
        });
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    });
  }

  /** Stores manifest bytes (already canonical) and returns the snapshot digest. */
  async putManifest(bytes: Buffer): Promise<string> {
    const digest = digestOfBytes(bytes);
    await this.ensureContainers();
    await this.putIfAbsent(this.snapshots, manifestBlobName(hexOfDigest(digest)), bytes, "application/json");
    return digest;
  }

  /** The manifest bytes of `digest`, checked against it; undefined when the store does not have them. */
  async getManifestBytes(digest: string): Promise<Buffer | undefined> {
    const hex = hexOfDigest(digest);
    const bytes = await this.readBlob(this.snapshots, manifestBlobName(hex), "reading a snapshot manifest");
    if (bytes && sha256Of(bytes) !== hex) {
      throw new StoreError(`snapshot manifest ${digest} in ${this.where} does not match its digest (the stored blob was changed)`, StoreReason.SnapshotCorrupt);
    }
    return bytes;
  }

  /** The manifest of `digest`, verified and validated; undefined when the store does not have it. */
  async getManifest(digest: string): Promise<Manifest | undefined> {
    const bytes = await this.getManifestBytes(digest);
    if (!bytes) return undefined;
    const manifest = JSON.parse(bytes.toString("utf8")) as Manifest;
    if (manifest.version !== MANIFEST_VERSION || !Array.isArray(manifest.files)) {
      throw new StoreError(`snapshot manifest ${digest} has an unknown format (version ${String(manifest.version)})`, StoreReason.SnapshotInvalid);
    }
    assertValidManifest(manifest.files);
    return manifest;
  }

  async getObject(hex: string): Promise<Buffer | undefined> {
    return this.readBlob(this.snapshots, objectBlobName(hex), "reading a snapshot object");
  }

  /** A stored object as a stream (large files are copied without holding them in memory). */
  async objectStream(hex: string): Promise<NodeJS.ReadableStream> {
    return this.call("reading a snapshot object", async () => {
      const res = await this.snapshots.getBlockBlobClient(objectBlobName(hex)).download();
      if (!res.readableStreamBody) throw new Error("the store returned no body");
      return res.readableStreamBody;
    });
  }

  private async readBlob(container: ContainerClient, name: string, what: string): Promise<Buffer | undefined> {
    return this.call(what, async () => {
      try {
        return await container.getBlockBlobClient(name).downloadToBuffer();
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    });
  }

  /** A blob of the runs container (e.g. an attempt's result.json); undefined when absent. */
  async readRunBlob(name: string): Promise<Buffer | undefined> {
    return this.readBlob(this.runs, name, `reading ${name}`);
  }

  async *listRunBlobs(prefix: string): AsyncGenerator<RunBlob> {
    const iter = this.runs.listBlobsFlat({ prefix });
    while (true) {
      const next = await this.call(`listing ${prefix}`, () => iter.next());
      if (next.done) return;
      yield { name: next.value.name, size: next.value.properties.contentLength ?? 0 };
    }
  }

  async downloadRunBlob(name: string, file: string): Promise<void> {
    await this.call(`downloading ${name}`, () => this.runs.getBlockBlobClient(name).downloadToFile(file));
  }

  async writeRunBlob(name: string, data: Buffer): Promise<void> {
    await this.ensureContainers();
    await this.call(`writing ${name}`, () => this.runs.getBlockBlobClient(name).uploadData(data));
  }

  /** Writes a blob of the runs container from a stream (copying outputs another service kept). */
  async writeRunBlobStream(name: string, body: NodeJS.ReadableStream): Promise<void> {
    await this.ensureContainers();
    await this.call(`writing ${name}`, () => this.runs.getBlockBlobClient(name).uploadStream(body as Readable, 4 * 1024 * 1024, 2));
  }

  /** Deletes every blob under `prefix` of the runs container; returns how many. Idempotent. */
  async deleteRunPrefix(prefix: string, concurrency = EXISTS_CONCURRENCY): Promise<number> {
    if (!prefix.endsWith("/") || prefix.length < 3) throw new Error(`refusing to delete prefix ${JSON.stringify(prefix)}`);
    const names: string[] = [];
    try {
      for await (const b of this.listRunBlobs(prefix)) names.push(b.name);
    } catch (err) {
      if (isStatus(err, 404)) return 0; // no runs container yet: nothing to delete
      throw err;
    }
    await mapLimit(names, concurrency, (name) => this.call(`deleting ${name}`, () => this.runs.getBlockBlobClient(name).deleteIfExists()));
    return names.length;
  }

  /** Read SAS URL of the snapshots container as targets reach it. */
  async snapshotReadUrl(now: Date): Promise<string> {
    return this.issue(this.settings.containers.snapshots, "read", now);
  }

  /** Create/write SAS URL of one attempt's prefix (…/aml-runs/<prefix>?sig) as targets reach it. */
  async runWriteUrl(prefix: string, now: Date): Promise<string> {
    const url = await this.issue(this.settings.containers.runs, "write", now);
    const [base, query] = url.split("?");
    return `${base}/${encodeBlobPath(prefix.replace(/\/$/, ""))}?${query ?? ""}`;
  }

  private async issue(container: string, permission: SasPermission, now: Date): Promise<string> {
    await this.ensureContainers();
    return this.call("issuing a SAS", () => this.sas.containerUrl(container, permission, now));
  }
}
