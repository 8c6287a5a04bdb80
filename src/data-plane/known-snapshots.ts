/**
 * Snapshots this operator stored (or found) recently, per store: a run whose source has the same
 * content as an earlier one (the runs of a sweep, a script applied again and again) starts without
 * a round trip to the store. Snapshots are content-addressed and the operator never deletes them,
 * so "stored" stays true; the entries still expire, so a store emptied by hand is noticed again
 * within minutes (a run would otherwise fail at its start with SnapshotNotFound), and the map is
 * bounded (least recently used first out).
 */
import type { ManifestTotals } from "./manifest.js";

export const KNOWN_SNAPSHOT_TTL_MS = 10 * 60_000;
export const KNOWN_SNAPSHOT_LIMIT = 1_000;

export class KnownSnapshots {
  private readonly known = new Map<string, { totals: ManifestTotals; atMs: number }>();

  constructor(private readonly now: () => number = Date.now, private readonly ttlMs = KNOWN_SNAPSHOT_TTL_MS, private readonly limit = KNOWN_SNAPSHOT_LIMIT) {}

  /** The totals of `digest` in the store named `where`, when it was stored or seen within the TTL. */
  get(where: string, digest: string): ManifestTotals | undefined {
    const key = `${where}\n${digest}`;
    const entry = this.known.get(key);
    if (!entry) return undefined;
    this.known.delete(key);
    if (this.now() - entry.atMs >= this.ttlMs) return undefined;
    this.known.set(key, entry);
    return entry.totals;
  }

  remember(where: string, digest: string, totals: ManifestTotals): void {
    const key = `${where}\n${digest}`;
    this.known.delete(key);
    this.known.set(key, { totals, atMs: this.now() });
    while (this.known.size > this.limit) this.known.delete(this.known.keys().next().value as string);
  }
}
