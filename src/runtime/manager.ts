import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Informer } from "../kube/informer.js";
import { kindId } from "../kube/paths.js";
import { keyOf, type ResourceKind } from "../kube/types.js";
import { startHealthServer, startMetricsServer, type HttpEndpoint } from "../observability/health.js";
import { operatorMetrics, type OperatorMetrics } from "../observability/metrics.js";
import { Controller } from "./controller.js";
import type { ControllerSpec } from "./controller-spec.js";
import { enqueueMapped, enqueueOwner, enqueueSelf } from "./event-handlers.js";
import type { LeaseClient } from "../kube/lease.js";
import { LeaderElector, type LeaderElectionConfig } from "./leader-election.js";

/** What the manager needs from the kube layer (KubeClientImpl provides it). */
export interface ManagerKube extends LeaseClient {
  watch(kind: ResourceKind, opts?: { labelSelector?: string; metadataOnly?: boolean }): Informer;
}

export interface ManagerOptions {
  kube: ManagerKube;
  logger: Logger;
  metricsRegistry: Registry;
  leaderElection?: LeaderElectionConfig;
  healthPort?: number;
  metricsPort?: number;
  /** Re-enqueue every cached primary object this often (level-triggered safety net). Default 10 min. */
  resyncPeriodMs?: number;
  /** How long stop() waits for in-flight reconciles. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Per-reconcile AbortSignal timeout. Default none. */
  reconcileTimeoutMs?: number;
  /** /readyz fails when an informer has seen nothing (not even a bookmark) for this long. Default 15 min. */
  watchStalenessMs?: number;
}

/** Raised by start() when this replica loses its lease; main should exit non-zero (controller-runtime). */
export class LeaderElectionLostError extends Error {
  override readonly name = "LeaderElectionLostError";
}

/**
 * Runs controllers: start informers for every kind they use → wait for cache sync → (optionally)
 * acquire the Lease → start workers → resync periodically. Informers run on standbys too (warm
 * cache, fast takeover), and events are queued there, but only the leader runs workers.
 */
export class Manager {
  private readonly specs: ControllerSpec[] = [];
  private readonly controllers: Controller[] = [];
  private readonly informers = new Map<string, Informer>();
  private readonly metrics: OperatorMetrics;
  private readonly log: Logger;
  private elector: LeaderElector | undefined;
  private readonly stopSignal = new AbortController();
  private stopping: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private endpoints: HttpEndpoint[] = [];
  private started = false;
  private cachesSynced = false;
  private leading = false;
  private workersSince: number | undefined;

  constructor(private readonly opts: ManagerOptions) {
    this.metrics = operatorMetrics(opts.metricsRegistry);
    this.log = opts.logger.child({ component: "manager" });
  }

  add(spec: ControllerSpec): this {
    if (this.started) throw new Error("Manager.add after start");
    if (this.specs.some((s) => s.name === spec.name)) throw new Error(`duplicate controller name ${spec.name}`);
    this.specs.push(spec);
    return this;
  }

  /**
   * Runs until stop() (resolves after a clean shutdown) or until leadership is lost (rejects with
   * LeaderElectionLostError after stopping workers). Rejects if called twice.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error("Manager already started");
    this.started = true;
    const signal = this.stopSignal.signal;
    await this.startServers();
    this.wireControllers();
    for (const informer of this.informers.values()) informer.start();
    this.log.info({ kinds: [...this.informers.values()].map((i) => i.kind.kind) }, "Waiting for caches to sync");
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    if (signal.aborted) return this.stopping;
    this.cachesSynced = true;
    this.log.info("Caches synced");
    if (this.opts.leaderElection && !(await this.acquireLease(this.opts.leaderElection, signal))) return this.stopping;
    this.runControllers();
    if (!this.elector) {
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      return this.stopping;
    }
    if ((await this.elector.renewUntilLost(signal)) === "stopped") return this.stopping;
    this.leading = false;
    await this.stop();
    throw new LeaderElectionLostError(`leader election lost: lease ${this.opts.leaderElection?.namespace}/${this.opts.leaderElection?.name}`);
  }

  /**
   * Graceful shutdown, idempotent: stop informers, shut queues down, await in-flight reconciles up to
   * shutdownTimeoutMs, then release the lease so a successor need not wait for it to expire.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Installs SIGTERM/SIGINT handlers that call stop(); returns a function removing them. */
  stopOnSignals(signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): () => void {
    const handler = (sig: NodeJS.Signals): void => {
      this.log.info({ signal: sig }, "Received signal, shutting down");
      void this.stop();
    };
    for (const s of signals) process.once(s, handler);
    return () => signals.forEach((s) => process.off(s, handler));
  }

  /** /readyz: every cache synced and recently active, and (with leader election) leading or able to reach the lease. */
  readiness(): { ok: boolean; detail?: string } {
    if (!this.cachesSynced) return { ok: false, detail: "caches not synced" };
    const staleMs = this.opts.watchStalenessMs ?? 900_000;
    for (const informer of this.informers.values()) {
      if (!informer.hasSynced()) return { ok: false, detail: `${informer.kind.kind} cache not synced` };
      if (Date.now() - informer.lastWatchActivity > staleMs) return { ok: false, detail: `${informer.kind.kind} watch stale` };
    }
    if (this.elector && !this.elector.isLeader() && !this.elector.healthy()) {
      return { ok: false, detail: "cannot reach the leader election lease" };
    }
    return { ok: true };
  }

  /**
   * When this process started reconciling (epoch ms; undefined before): an object created after
   * it, with clock skew allowed for, was never reconciled by another replica (a former leader
   * stops its workers before its lease can pass on).
   */
  reconcilingSince(): number | undefined {
    return this.workersSince;
  }

  /** True while this replica runs workers (always the case without leader election, once synced). */
  isLeader(): boolean {
    return this.leading;
  }

  private async acquireLease(config: LeaderElectionConfig, signal: AbortSignal): Promise<boolean> {
    const status = this.metrics.leaderElectionMasterStatus;
    this.elector = new LeaderElector(this.opts.kube, config, {
      logger: this.log,
      onLeaderChange: (leader) => status.set({ name: config.name }, leader ? 1 : 0),
    });
    status.set({ name: config.name }, 0);
    return (await this.elector.acquire(signal)) && !signal.aborted;
  }

  private wireControllers(): void {
    const selectors = this.selectorsByKind();
    const metadataOnly = this.metadataOnlyKinds();
    const informerOf = (kind: ResourceKind): Informer => {
      const id = kindId(kind);
      let informer = this.informers.get(id);
      if (!informer) {
        informer = this.opts.kube.watch(kind, { labelSelector: selectors.get(id), ...(metadataOnly.has(id) ? { metadataOnly: true } : {}) });
        this.informers.set(id, informer);
      }
      return informer;
    };
    for (const spec of this.specs) {
      const controller = new Controller(spec, {
        logger: this.opts.logger, metrics: this.metrics, reconcileTimeoutMs: this.opts.reconcileTimeoutMs,
      });
      const enqueue = controller.enqueue.bind(controller);
      this.controllers.push(controller);
      informerOf(spec.forKind).addHandlers(enqueueSelf(enqueue, { ignoreStatusOnly: spec.ignoreStatusOnlyUpdates ?? false }));
      for (const owned of spec.owns ?? []) informerOf(owned).addHandlers(enqueueOwner(spec.forKind, enqueue));
      for (const w of spec.watches ?? []) informerOf(w.kind).addHandlers(enqueueMapped(w.map, enqueue));
    }
  }

  /**
   * One informer per kind, so one label selector per kind. When controllers disagree (or one wants
   * everything), cache everything: a narrower cache would hide objects from someone.
   * ControllerSpec.labelSelectors is keyed by kind name (e.g. { Pod: "app=x" }).
   */
  private selectorsByKind(): Map<string, string | undefined> {
    const wanted = new Map<string, Set<string | undefined>>();
    const want = (kind: ResourceKind, selector: string | undefined): void => {
      const set = wanted.get(kindId(kind)) ?? new Set();
      set.add(selector);
      wanted.set(kindId(kind), set);
    };
    for (const spec of this.specs) {
      want(spec.forKind, spec.labelSelectors?.[spec.forKind.kind]);
      for (const owned of spec.owns ?? []) want(owned, spec.labelSelectors?.[owned.kind]);
      for (const w of spec.watches ?? []) want(w.kind, w.labelSelector ?? spec.labelSelectors?.[w.kind.kind]);
    }
    const out = new Map<string, string | undefined>();
    for (const [id, set] of wanted) {
      if (set.size > 1) this.log.warn({ kind: id, selectors: [...set] }, "Conflicting label selectors, caching all objects");
      out.set(id, set.size === 1 ? [...set][0] : undefined);
    }
    return out;
  }

  /** Kinds every user watches for metadata only; one that wants whole objects anywhere gets them. */
  private metadataOnlyKinds(): Set<string> {
    const whole = new Set<string>();
    const metadata = new Set<string>();
    for (const spec of this.specs) {
      whole.add(kindId(spec.forKind));
      for (const owned of spec.owns ?? []) whole.add(kindId(owned));
      for (const w of spec.watches ?? []) (w.metadataOnly ? metadata : whole).add(kindId(w.kind));
    }
    return new Set([...metadata].filter((id) => !whole.has(id)));
  }

  private runControllers(): void {
    this.leading = true;
    this.workersSince ??= Date.now();
    for (const c of this.controllers) c.start();
    const period = this.opts.resyncPeriodMs ?? 600_000;
    this.resyncTimer = setInterval(() => this.resync(), period);
    this.resyncTimer.unref();
  }

  private resync(): void {
    for (const [i, spec] of this.specs.entries()) {
      const informer = this.informers.get(kindId(spec.forKind));
      const controller = this.controllers[i];
      if (!informer || !controller) continue;
      for (const obj of informer.list()) controller.enqueue(keyOf(obj));
    }
  }

  private async startServers(): Promise<void> {
    if (this.opts.healthPort !== undefined) {
      this.endpoints.push(await startHealthServer(this.opts.healthPort, { informers: () => this.readiness() }));
    }
    if (this.opts.metricsPort !== undefined) {
      this.endpoints.push(await startMetricsServer(this.opts.metricsPort, this.opts.metricsRegistry));
    }
  }

  private async shutdown(): Promise<void> {
    this.stopSignal.abort();
    this.leading = false;
    clearInterval(this.resyncTimer);
    for (const informer of this.informers.values()) informer.stop();
    const timeout = this.opts.shutdownTimeoutMs ?? 30_000;
    await Promise.all(this.controllers.map((c) => c.stop(timeout)));
    await this.elector?.release();
    await Promise.all(this.endpoints.map((e) => e.close()));
    this.log.info("Manager stopped");
  }
}
