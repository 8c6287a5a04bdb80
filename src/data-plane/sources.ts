/**
 * Every source kind becomes one thing before the first attempt: a snapshot in the namespace's
 * store, named by its digest. Inline and ConfigMap sources are stored by the operator; a snapshot
 * source is checked to exist; a git source is fetched in the background (never inside a
 * reconcile) and the run waits with reason FetchingSource meanwhile.
 */
import type { TrainingRun } from "../api/v1alpha1/index.js";
import { TerminalError } from "../runtime/errors.js";
import type { DataPlane, SecretReader } from "./data-plane.js";
import { StoreError, StoreReason } from "./errors.js";
import { snapshotGitSource, type GitAuth } from "./git-source.js";
import { KnownSnapshots } from "./known-snapshots.js";
import { canonicalManifestBytes, digestOfBytes, totalsOf } from "./manifest.js";
import type { BlobStore } from "./store.js";
import { checkEntries, entriesOfBuffers, uploadSnapshot, type SourceEntry } from "./upload.js";

export interface ResolvedSnapshot {
  readonly digest: string;
  readonly files: number;
  readonly bytes: number;
  readonly commit?: string;
}

export interface SourceProblem {
  readonly reason: string;
  readonly message: string;
  /** The run cannot succeed without a spec change. */
  readonly terminal: boolean;
  /** Look again after this long (store unreachable, git fetch in flight). */
  readonly retryAfterMs?: number;
  /** Work in progress rather than a fault (FetchingSource). */
  readonly progress?: boolean;
}

export type SourceOutcome = { snapshot: ResolvedSnapshot } | { problem: SourceProblem };

export interface SourceContext {
  readSecret: SecretReader;
  /** The ConfigMap's data and binaryData (base64), or undefined when it does not exist. */
  readConfigMap(namespace: string, name: string): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> } | undefined>;
}

type Pending = { done: false } | { done: true; outcome: SourceOutcome };

const GIT_POLL_MS = 2_000;

/** Maps failures to the problem a run shows: store trouble waits and retries, bad input fails. */
export function problemOf(err: unknown): SourceProblem {
  if (err instanceof StoreError) {
    const terminal = err.storeReason === StoreReason.SnapshotCorrupt || err.storeReason === StoreReason.SnapshotInvalid;
    return { reason: err.storeReason, message: err.message, terminal, ...(terminal ? {} : { retryAfterMs: err.retryAfterMs ?? 10_000 }) };
  }
  if (err instanceof TerminalError) return { reason: err.reason, message: err.message, terminal: true };
  throw err;
}

export class SourceSnapshots {
  /** Git fetches in flight, by run UID; a result waits here until the run's next reconcile takes it. */
  private readonly git = new Map<string, Pending>();

  /** Uploads in flight by store and digest. */
  private readonly uploading = new Map<string, Promise<ResolvedSnapshot>>();

  constructor(private readonly dataPlane: DataPlane, private readonly known = new KnownSnapshots()) {}

  async resolve(run: TrainingRun, ctx: SourceContext): Promise<SourceOutcome> {
    const namespace = run.metadata.namespace ?? "";
    try {
      const store = await this.dataPlane.storeFor(namespace, ctx.readSecret);
      return await this.resolveIn(store, run, ctx);
    } catch (err) {
      return { problem: problemOf(err) };
    }
  }

  private async resolveIn(store: BlobStore, run: TrainingRun, ctx: SourceContext): Promise<SourceOutcome> {
    const source = run.spec.source;
    const namespace = run.metadata.namespace ?? "";
    if (source.snapshot) {
      const { digest } = source.snapshot;
      const seen = this.known.get(store.where, digest);
      if (seen) return { snapshot: { digest, ...seen } };
      const manifest = await store.getManifest(digest);
      if (!manifest) {
        return { problem: { reason: StoreReason.SnapshotNotFound, terminal: true, message: `snapshot ${digest} is not in the store (${store.where}); upload it with kubectl aml submit` } };
      }
      const totals = totalsOf(manifest.files);
      this.known.remember(store.where, digest, totals);
      return { snapshot: { digest, ...totals } };
    }
    if (source.inline) {
      const files = source.inline.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, "utf8"), ...(f.mode !== undefined ? { mode: f.mode } : {}) }));
      return { snapshot: await this.store(store, entriesOfBuffers(files)) };
    }
    if (source.configMap) {
      const cm = await ctx.readConfigMap(namespace, source.configMap.name);
      if (!cm) return { problem: { reason: "SourceNotFound", message: `ConfigMap ${source.configMap.name} not found`, terminal: false, retryAfterMs: 30_000 } };
      const files = [
        ...Object.entries(cm.data ?? {}).map(([path, text]) => ({ path, content: Buffer.from(text, "utf8") })),
        ...Object.entries(cm.binaryData ?? {}).map(([path, b64]) => ({ path, content: Buffer.from(b64, "base64") })),
      ];
      return { snapshot: await this.store(store, entriesOfBuffers(files)) };
    }
    if (source.git) return this.resolveGit(store, run, ctx);
    return { problem: { reason: "InvalidSpec", message: "source.image is reserved in this build; use snapshot, git, inline or configMap", terminal: true } };
  }

  /**
   * Uploads what the store lacks of an in-memory source, unless the same content was stored
   * recently; runs with the same content reconciled at the same time share one upload.
   */
  private async store(store: BlobStore, entries: SourceEntry[]): Promise<ResolvedSnapshot> {
    checkEntries(entries);
    const digest = digestOfBytes(canonicalManifestBytes(entries.map(({ path, mode, size, sha256 }) => ({ path, mode, size, sha256 }))));
    const seen = this.known.get(store.where, digest);
    if (seen) return { digest, ...seen };
    const key = `${store.where}\n${digest}`;
    let pending = this.uploading.get(key);
    if (!pending) {
      pending = uploadSnapshot(store, entries).then((stored) => {
        this.known.remember(store.where, stored.digest, { files: stored.files, bytes: stored.bytes });
        return { digest: stored.digest, files: stored.files, bytes: stored.bytes };
      }).finally(() => this.uploading.delete(key));
      this.uploading.set(key, pending);
    }
    return pending;
  }

  private async resolveGit(store: BlobStore, run: TrainingRun, ctx: SourceContext): Promise<SourceOutcome> {
    const uid = run.metadata.uid ?? "";
    const spec = run.spec.source.git!;
    const pending = this.git.get(uid);
    if (pending?.done) {
      this.git.delete(uid);
      return pending.outcome;
    }
    if (!pending) {
      let auth: GitAuth | undefined;
      if (spec.secretRef) {
        const data = await ctx.readSecret(run.metadata.namespace ?? "", spec.secretRef.name);
        if (!data) return { problem: { reason: "SourceSecretNotFound", message: `Secret ${spec.secretRef.name} (source.git.secretRef) not found`, terminal: false, retryAfterMs: 30_000 } };
        auth = { username: data.username ?? "git", password: data.password ?? data.token ?? "" };
      }
      const entry: Pending = { done: false };
      this.git.set(uid, entry);
      snapshotGitSource(store, spec, auth).then(
        (s) => this.git.set(uid, { done: true, outcome: { snapshot: { digest: s.digest, files: s.files, bytes: s.bytes, commit: s.commit } } }),
        (err: unknown) => this.git.set(uid, { done: true, outcome: { problem: safeProblem(err) } }),
      );
    }
    return { problem: { reason: "FetchingSource", message: `fetching ${spec.revision} from git`, terminal: false, retryAfterMs: GIT_POLL_MS, progress: true } };
  }

  /** Drops a deleted run's pending fetch result. */
  forget(uid: string): void {
    this.git.delete(uid);
  }
}

/** problemOf for a background task: an unexpected error becomes a retryable problem, not a crash. */
function safeProblem(err: unknown): SourceProblem {
  try {
    return problemOf(err);
  } catch {
    const e = err as { code?: string; message?: string };
    return { reason: "SourceUnavailable", message: `fetching the git source failed: ${e.code ?? e.message ?? String(err)}`, terminal: false, retryAfterMs: 15_000 };
  }
}
