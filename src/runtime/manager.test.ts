import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Informer, InformerHandlers } from "../kube/informer.js";
import { BuiltinKinds, keyString, type KubeObject, type ObjectKey, type ResourceKind } from "../kube/types.js";
import type { ControllerSpec } from "./controller-spec.js";
import { ConflictError } from "./errors.js";
import type { Lease, LeaseClient } from "../kube/lease.js";
import { LeaderElectionLostError, Manager, type ManagerKube } from "./manager.js";
import { done } from "./result.js";

const TrainingRun: ResourceKind = { group: "amlcompute.dev", version: "v1alpha1", kind: "TrainingRun", plural: "trainingruns", namespaced: true };

/** In-memory informer: the test drives events; sync happens on start. */
class FakeInformer implements Informer {
  private handlers: InformerHandlers<KubeObject>[] = [];
  private readonly objects = new Map<string, KubeObject>();
  private synced = false;
  lastWatchActivity = 0;
  constructor(readonly kind: ResourceKind, readonly labelSelector: string | undefined) {}
  addHandlers(h: InformerHandlers<KubeObject>): void { this.handlers.push(h); }
  start(): void { this.synced = true; this.lastWatchActivity = Date.now(); }
  stop(): void {}
  hasSynced(): boolean { return this.synced; }
  async waitForSync(): Promise<boolean> { return true; }
  get(key: ObjectKey): KubeObject | undefined { return this.objects.get(keyString(key)); }
  list(): KubeObject[] { return [...this.objects.values()]; }
  upsert(obj: KubeObject): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const old = this.objects.get(key);
    this.objects.set(key, obj);
    for (const h of this.handlers) {
      if (old) h.update?.(obj, old);
      else h.add?.(obj);
    }
  }
}

class FakeKube implements ManagerKube {
  readonly informers = new Map<string, FakeInformer>();
  lease: Lease | undefined;
  private rv = 0;
  unreachable = false;
  watch(kind: ResourceKind, opts?: { labelSelector?: string }): Informer {
    const inf = new FakeInformer(kind, opts?.labelSelector);
    this.informers.set(kind.kind, inf);
    return inf;
  }
  informer(kind: string): FakeInformer {
    const inf = this.informers.get(kind);
    if (!inf) throw new Error(`no informer for ${kind}`);
    return inf;
  }
  readLease: LeaseClient["readLease"] = async () => {
    if (this.unreachable) throw new Error("unreachable");
    return this.lease && structuredClone(this.lease);
  };
  createLease: LeaseClient["createLease"] = async (l) => {
    if (this.lease) throw new ConflictError("exists", true);
    return this.store(l);
  };
  replaceLease: LeaseClient["replaceLease"] = async (l) => {
    if (this.unreachable) throw new Error("unreachable");
    if (l.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw new ConflictError("stale");
    return this.store(l);
  };
  private store(l: Lease): Lease {
    this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

const logger = pino({ level: "silent" });
const until = async (cond: () => boolean, ms = 2_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
};
const managers: Manager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

function runsController(seen: string[], extra: Partial<ControllerSpec> = {}): ControllerSpec {
  return {
    name: "trainingrun", forKind: TrainingRun,
    reconcile: async (key) => {
      seen.push(keyString(key));
      return done();
    },
    ...extra,
  };
}

function newManager(kube: FakeKube, opts: Partial<ConstructorParameters<typeof Manager>[0]> = {}): Manager {
  const m = new Manager({ kube, logger, metricsRegistry: new Registry(), ...opts });
  managers.push(m);
  return m;
}

describe("Manager wiring", () => {
  it("enqueues the object itself, the controlling owner of owned objects, and mapped keys", async () => {
    const kube = new FakeKube();
    const seen: string[] = [];
    const m = newManager(kube).add(runsController(seen, {
      owns: [BuiltinKinds.Job],
      watches: [{ kind: BuiltinKinds.Secret, map: (o) => [{ namespace: o.metadata.namespace ?? "", name: `from-${o.metadata.name}` }] }],
      labelSelectors: { Job: "amlcompute.dev/managed=true" },
    }));
    void m.start();
    await until(() => kube.informers.size === 3);
    expect(kube.informer("Job").labelSelector).toBe("amlcompute.dev/managed=true");
    kube.informer("TrainingRun").upsert({ metadata: { namespace: "ns", name: "r1" } });
    kube.informer("Job").upsert({
      metadata: {
        namespace: "ns", name: "j", ownerReferences: [
          { apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun", name: "r2", uid: "u", controller: true },
        ],
      },
    });
    kube.informer("Job").upsert({
      metadata: { namespace: "ns", name: "orphan", ownerReferences: [{ apiVersion: "apps/v1", kind: "TrainingRun", name: "x", uid: "u", controller: true }] },
    });
    kube.informer("Secret").upsert({ metadata: { namespace: "ns", name: "s" } });
    await until(() => seen.length >= 3);
    expect(seen.sort()).toEqual(["ns/from-s", "ns/r1", "ns/r2"]);
  });

  it("resyncs every cached primary object periodically", async () => {
    const kube = new FakeKube();
    const seen: string[] = [];
    const m = newManager(kube, { resyncPeriodMs: 30 }).add(runsController(seen));
    void m.start();
    await until(() => kube.informers.size === 1);
    kube.informer("TrainingRun").upsert({ metadata: { namespace: "ns", name: "r" } });
    await until(() => seen.length >= 3);
  });

  it("is ready once caches synced; start() resolves after stop()", async () => {
    const kube = new FakeKube();
    const m = newManager(kube).add(runsController([]));
    const started = m.start();
    await until(() => m.readiness().ok);
    await m.stop();
    await expect(started).resolves.toBeUndefined();
  });
});

describe("Manager leader election", () => {
  const le = (identity: string): Partial<ConstructorParameters<typeof Manager>[0]> => ({
    leaderElection: { namespace: "ns", name: "op", identity, leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20 },
  });

  it("runs workers only on the leader; a standby takes over quickly after the leader stops and releases", async () => {
    const kube = new FakeKube();
    const seenA: string[] = [];
    const seenB: string[] = [];
    const a = newManager(kube, le("a")).add(runsController(seenA));
    const b = newManager(kube, le("b")).add(runsController(seenB));
    void a.start();
    await until(() => a.isLeader());
    void b.start();
    await until(() => b.readiness().ok);
    expect(b.isLeader()).toBe(false);
    await a.stop();
    expect(kube.lease?.spec?.holderIdentity).not.toBe("a");
    const t0 = Date.now();
    await until(() => b.isLeader());
    expect(Date.now() - t0).toBeLessThan(300);
  });

  it("rejects start() with LeaderElectionLostError when the lease cannot be renewed", async () => {
    const kube = new FakeKube();
    const m = newManager(kube, le("a")).add(runsController([]));
    const started = m.start();
    await until(() => m.isLeader());
    kube.unreachable = true;
    await expect(started).rejects.toBeInstanceOf(LeaderElectionLostError);
  });
});
