import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ObjectKey } from "../kube/types.js";
import { ConflictError } from "./errors.js";
import type { Lease, LeaseClient } from "../kube/lease.js";
import { LeaderElector, type LeaderElectionConfig } from "./leader-election.js";

/** One lease held in memory with API-server semantics: resourceVersion bumps, 409 on stale writes. */
class FakeLeases implements LeaseClient {
  lease: Lease | undefined;
  private rv = 0;
  failReads = false;

  async readLease(_key: ObjectKey): Promise<Lease | undefined> {
    if (this.failReads) throw new Error("connection refused");
    return this.lease && structuredClone(this.lease);
  }

  async createLease(lease: Lease): Promise<Lease> {
    if (this.lease) throw new ConflictError("exists", true);
    return this.store(lease);
  }

  async replaceLease(lease: Lease): Promise<Lease> {
    if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw new ConflictError("stale");
    return this.store(lease);
  }

  private store(lease: Lease): Lease {
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

const clockAt = (start: number): { now: () => number; advance: (ms: number) => void } => {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
};
const cfg = (identity: string): LeaderElectionConfig => ({
  namespace: "ns", name: "op", identity, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
});
const elector = (leases: LeaseClient, identity: string, clock = clockAt(1_000_000)): LeaderElector =>
  new LeaderElector(leases, cfg(identity), { logger: pino({ level: "silent" }), clock });

describe("LeaderElector.tryAcquireOrRenew", () => {
  it("creates the lease when none exists and becomes leader", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(a.isLeader()).toBe(true);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "a", leaseDurationSeconds: 15, leaseTransitions: 0 });
  });

  it("renews its own lease, keeping acquireTime and transitions", async () => {
    const leases = new FakeLeases();
    const clock = clockAt(1_000_000);
    const a = elector(leases, "a", clock);
    await a.tryAcquireOrRenew();
    const acquired = leases.lease?.spec?.acquireTime;
    clock.advance(2_000);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(leases.lease?.spec?.acquireTime).toBe(acquired);
    expect(leases.lease?.spec?.renewTime).not.toBe(acquired);
    expect(leases.lease?.spec?.leaseTransitions).toBe(0);
  });

  it("does not take a lease another holder keeps renewing", async () => {
    const leases = new FakeLeases();
    const clockA = clockAt(1_000_000);
    const clockB = clockAt(1_000_000);
    const a = elector(leases, "a", clockA);
    const b = elector(leases, "b", clockB);
    await a.tryAcquireOrRenew();
    for (let i = 0; i < 20; i++) {
      clockA.advance(2_000);
      clockB.advance(2_000);
      await a.tryAcquireOrRenew();
      expect(await b.tryAcquireOrRenew()).toBe(false);
    }
    expect(b.isLeader()).toBe(false);
  });

  it("takes over once the record has not changed for leaseDuration on the candidate's own clock", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a", clockAt(1_000_000));
    await a.tryAcquireOrRenew();
    // b's clock is wildly different from a's: only the elapsed time b observed matters.
    const clockB = clockAt(9_000_000_000);
    const b = elector(leases, "b", clockB);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clockB.advance(14_999);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clockB.advance(2);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
  });

  it("a fresh candidate waits a full leaseDuration even if renewTime looks ancient (no cross-machine clock comparison)", async () => {
    const leases = new FakeLeases();
    await elector(leases, "a", clockAt(0)).tryAcquireOrRenew();
    const b = elector(leases, "b", clockAt(10 ** 12));
    expect(await b.tryAcquireOrRenew()).toBe(false);
  });

  it("takes a released lease (empty holder) at once", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    await a.tryAcquireOrRenew();
    await a.release();
    expect(a.isLeader()).toBe(false);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
    const b = elector(leases, "b");
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it("loses a write race without throwing", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    const b = elector(leases, "b");
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("reports leadership changes", async () => {
    const leases = new FakeLeases();
    const changes: boolean[] = [];
    const a = new LeaderElector(leases, cfg("a"), { logger: pino({ level: "silent" }), onLeaderChange: (l) => changes.push(l) });
    await a.tryAcquireOrRenew();
    await a.tryAcquireOrRenew();
    await a.release();
    expect(changes).toEqual([true, false]);
  });

  it("rejects a renewDeadline not shorter than the lease duration", () => {
    expect(() => new LeaderElector(new FakeLeases(), { ...cfg("a"), renewDeadlineMs: 15_000 }, { logger: pino({ level: "silent" }) }))
      .toThrow();
  });
});

describe("LeaderElector loops", () => {
  it("renewUntilLost reports 'lost' when the API server stays unreachable past renewDeadline", async () => {
    const leases = new FakeLeases();
    const cfgFast = { ...cfg("a"), leaseDurationMs: 150, renewDeadlineMs: 100, retryPeriodMs: 20 };
    const a = new LeaderElector(leases, cfgFast, { logger: pino({ level: "silent" }) });
    expect(await a.acquire(new AbortController().signal)).toBe(true);
    leases.failReads = true;
    expect(await a.renewUntilLost(new AbortController().signal)).toBe("lost");
    expect(a.isLeader()).toBe(false);
  });

  it("renewUntilLost returns 'stopped' when aborted", async () => {
    const leases = new FakeLeases();
    const a = new LeaderElector(leases, { ...cfg("a"), retryPeriodMs: 10 }, { logger: pino({ level: "silent" }) });
    await a.acquire(new AbortController().signal);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    expect(await a.renewUntilLost(stop.signal)).toBe("stopped");
    expect(a.isLeader()).toBe(true);
  });

  it("acquire returns false when aborted while another replica holds the lease", async () => {
    const leases = new FakeLeases();
    await elector(leases, "a").tryAcquireOrRenew();
    const b = new LeaderElector(leases, { ...cfg("b"), retryPeriodMs: 10 }, { logger: pino({ level: "silent" }) });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    expect(await b.acquire(stop.signal)).toBe(false);
    expect(b.healthy()).toBe(true);
  });
});
