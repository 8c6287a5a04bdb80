import type { ConnectionSettings } from "./connection-settings.js";
import { openSession, type SshSession } from "./session.js";
import { SshUnreachableError } from "./ssh-errors.js";

export type SessionOpener = (settings: ConnectionSettings) => Promise<SshSession>;

export interface SessionPoolOptions {
  /** Close a connection nobody used for this long. Default 60 s. */
  readonly idleTimeoutMs?: number;
  readonly open?: SessionOpener;
}

interface Entry {
  readonly session: Promise<SshSession>;
  users: number;
  idleTimer?: NodeJS.Timeout;
}

/**
 * One connection per (endpoint, credentials, host-key pin), shared by every reconcile of every
 * run on that target and closed after an idle period. Reconciles of many runs on one VM then cost
 * a channel each instead of a TCP + key exchange + auth each. Nothing depends on a connection
 * surviving: the remote protocol is files on the VM (see remote-job.ts).
 */
export class SessionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly idleTimeoutMs: number;
  private readonly open: SessionOpener;

  constructor(opts: SessionPoolOptions = {}) {
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.open = opts.open ?? ((s) => openSession(s));
  }

  /**
   * Runs `fn` with a connected session. A pooled connection that turns out dead (the VM rebooted,
   * sshd restarted) is replaced and `fn` retried once: that is stale-connection handling, not a
   * second retry layer — a fresh connection failing is reported to the caller as is.
   */
  async with<T>(settings: ConnectionSettings, fn: (s: SshSession) => Promise<T>): Promise<T> {
    const before = this.entries.get(settings.poolKey);
    try {
      return await this.use(settings, fn);
    } catch (err) {
      const stale = before !== undefined && this.entries.get(settings.poolKey) !== before;
      if (!stale || !(err instanceof SshUnreachableError)) throw err;
      return this.use(settings, fn); // every fn given here is idempotent (keyed by run UID + attempt)
    }
  }

  private async use<T>(settings: ConnectionSettings, fn: (s: SshSession) => Promise<T>): Promise<T> {
    const entry = this.acquire(settings);
    try {
      const session = await entry.session;
      if (session.closed) throw new SshUnreachableError(`${settings.label}: connection closed`);
      return await fn(session);
    } finally {
      // Only a closed connection is dropped: a slow command must not cut other users' channels.
      const session = await entry.session.catch(() => undefined);
      if (!session || session.closed) this.drop(settings.poolKey, entry);
      this.releaseEntry(settings.poolKey, entry);
    }
  }

  private acquire(settings: ConnectionSettings): Entry {
    let entry = this.entries.get(settings.poolKey);
    if (!entry) {
      entry = { session: this.open(settings), users: 0 };
      const created = entry;
      created.session.catch(() => this.drop(settings.poolKey, created));
      this.entries.set(settings.poolKey, entry);
    }
    entry.users++;
    clearTimeout(entry.idleTimer);
    return entry;
  }

  private releaseEntry(key: string, entry: Entry): void {
    entry.users--;
    if (entry.users > 0 || this.entries.get(key) !== entry) return;
    entry.idleTimer = setTimeout(() => this.drop(key, entry), this.idleTimeoutMs);
    entry.idleTimer.unref();
  }

  private drop(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    clearTimeout(entry.idleTimer);
    entry.session.then((s) => s.close(), () => undefined);
  }

  /** Open connections (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  closeAll(): void {
    for (const [key, entry] of [...this.entries]) this.drop(key, entry);
  }
}
