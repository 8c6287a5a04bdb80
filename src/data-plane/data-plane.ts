/**
 * The operator's entry to the store: which store a namespace uses, the runner environment of an
 * attempt (SAS URLs), an attempt's result, and deleting a run's data. One BlobStore per distinct
 * settings, reused across reconciles.
 */
import { createHash } from "node:crypto";
import { dataPlaneEnv, settingsFor, StoreConfigError, type DataPlaneEnv, type StoreSettings } from "./config.js";
import { StoreError, StoreReason } from "./errors.js";
import { attemptPrefix, encodeBlobPath, objectBlobName, runRootPrefix, type RunIdentity } from "./layout.js";
import { sha256Of } from "./manifest.js";
import { parseRunResult, resultBlobOf, type RunResult } from "./result.js";
import { RunnerEnv, runnerScript } from "./runner/index.js";
import type { BlobStore } from "./store.js";

/**
 * What a provider gets for one attempt: the runner's environment (SAS URLs, secret: hand it to the
 * target in a Secret or the task definition only, never to status, Events or logs) and where the
 * attempt's outputs, log and result.json land in the store.
 */
export interface AttemptStorage {
  /** AML_SNAPSHOT_URL, AML_SNAPSHOT_DIGEST, AML_OUTPUT_URL for the runner (fresh SAS on each call). */
  runnerEnv(): Promise<Record<string, string>>;
  /** `<runs container>/<namespace>/<run>-<uid>/attempt-<n>/`, for messages and links. */
  readonly location: string;
  /**
   * Read SAS URL of the runner script, stored once by its sha256 among the snapshot objects (for
   * targets that download their files themselves, e.g. a Batch resource file). Secret like the rest.
   */
  runnerUrl(): Promise<string>;
  /** The store and the attempt's prefix in its runs container (ends with "/"), for targets whose own service keeps the outputs. */
  readonly store: BlobStore;
  readonly prefix: string;
  readonly digest: string;
}

/** One attempt of one run and the snapshot it runs. */
export interface AttemptRef { readonly run: RunIdentity; readonly attempt: number; readonly digest: string }

export type SecretReader = (namespace: string, name: string) => Promise<Record<string, string> | undefined>;

export class DataPlane {
  private readonly stores = new Map<string, BlobStore>();
  private loading: Promise<typeof import("./store.js")> | undefined;

  constructor(readonly env: DataPlaneEnv = dataPlaneEnv()) {}

  /** The namespace's store; StoreError(StoreNotConfigured) when nothing names one. */
  async storeFor(namespace: string, readSecret: SecretReader): Promise<BlobStore> {
    const secret = await readSecret(namespace, this.env.namespaceSecretName);
    let settings: StoreSettings | undefined;
    try {
      settings = settingsFor(this.env, namespace, secret);
    } catch (err) {
      if (err instanceof StoreConfigError) throw new StoreError(err.message, StoreReason.NotConfigured, 60_000);
      throw err;
    }
    if (!settings) {
      throw new StoreError(`no snapshot store for namespace ${namespace}: set AML_STORE_URL (and AML_STORE_CONNECTION_STRING) on the operator, or create Secret ${namespace}/${this.env.namespaceSecretName}`, StoreReason.NotConfigured, 60_000);
    }
    const key = createHash("sha256").update(JSON.stringify([settings.url, settings.targetUrl, settings.auth, settings.from])).digest("hex");
    let store = this.stores.get(key);
    if (!store) {
      // The Blob SDK (about 20 MiB resident) is imported with the first store an operator uses.
      const { BlobStore: Store } = await this.storeModule();
      store = this.stores.get(key) ?? new Store(settings);
      this.stores.set(key, store);
    }
    return store;
  }

  private storeModule(): Promise<typeof import("./store.js")> {
    this.loading ??= import("./store.js");
    return this.loading;
  }

  /**
   * Loads the Blob SDK in the background (no store is contacted): called when the first compute
   * target appears, so the first run does not wait the ~200 ms of the import. An operator with no
   * targets never loads it.
   */
  warm(): void {
    this.storeModule().catch(() => { this.loading = undefined; });
  }

  /** The runner's environment for one attempt: snapshot read URL, digest, the attempt's write URL. */
  async runnerEnv(store: BlobStore, a: AttemptRef, now: Date): Promise<Record<string, string>> {
    const { run, attempt, digest } = a;
    return {
      [RunnerEnv.snapshotUrl]: await store.snapshotReadUrl(now),
      [RunnerEnv.snapshotDigest]: digest,
      [RunnerEnv.outputUrl]: await store.runWriteUrl(attemptPrefix(run, attempt), now),
    };
  }

  /** The AttemptStorage of one attempt on `store` (what the controller hands to executors). */
  attemptStorage(store: BlobStore, a: AttemptRef, now: () => Date): AttemptStorage {
    const prefix = attemptPrefix(a.run, a.attempt);
    return {
      runnerEnv: () => this.runnerEnv(store, a, now()),
      runnerUrl: () => this.runnerUrl(store, now()),
      location: `${store.settings.containers.runs}/${prefix}`,
      store, prefix, digest: a.digest,
    };
  }

  /** The runner as a content-addressed object of the snapshots container, and its read SAS URL. */
  async runnerUrl(store: BlobStore, now: Date): Promise<string> {
    const bytes = Buffer.from(runnerScript().text, "utf8");
    const hex = sha256Of(bytes);
    await store.ensureContainers();
    await store.putObject(hex, bytes);
    const [base, query] = (await store.snapshotReadUrl(now)).split("?");
    return `${base}/${encodeBlobPath(objectBlobName(hex))}?${query ?? ""}`;
  }

  async readResult(store: BlobStore, run: RunIdentity, attempt: number): Promise<RunResult | undefined> {
    const bytes = await store.readRunBlob(resultBlobOf(run, attempt));
    return bytes ? parseRunResult(bytes) : undefined;
  }

  /** Deletes all attempts' outputs, logs and results of a run (its finalizer). */
  async deleteRunData(store: BlobStore, run: RunIdentity): Promise<number> {
    return store.deleteRunPrefix(runRootPrefix(run));
  }
}

/** The run identity a TrainingRun's metadata gives. */
export const runIdentity = (meta: { namespace?: string; name?: string; uid?: string }): RunIdentity =>
  ({ namespace: meta.namespace ?? "", name: meta.name ?? "", uid: meta.uid ?? "" });
