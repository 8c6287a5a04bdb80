import type { Logger } from "pino";
import type { Lease, LeaseClient, LeaseSpec } from "../kube/lease.js";
import { ConflictError } from "./errors.js";
import { microTime, sleep, systemClock, type Clock } from "./clock.js";


export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderElectorOptions {
  logger: Logger;
  clock?: Clock;
  /** Called on every leadership change (drives leader_election_master_status). */
  onLeaderChange?: (leader: boolean) => void;
}


/**
 * Lease-based leader election with client-go's semantics (tools/leaderelection):
 * - acquire when the lease is free (no holder), ours, or not renewed for leaseDuration;
 * - "not renewed" is judged by when WE last saw the record change, on our own clock — never by
 *   comparing the holder's renewTime with our clock, since clocks across machines disagree;
 * - the leader renews every retryPeriod and gives up if it cannot renew within renewDeadline;
 * - release() empties holderIdentity and shortens the lease to 1 s so a successor takes over fast.
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private observedSpec: LeaseSpec | undefined;
  private observedRaw = "";
  private observedTime = 0;
  private observedLease: Lease | undefined;
  private lastApiSuccess = 0;
  private leader = false;

  constructor(private readonly client: LeaseClient, private readonly config: LeaderElectionConfig,
    private readonly opts: LeaderElectorOptions) {
    this.leaseDurationMs = config.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = config.retryPeriodMs ?? 2_000;
    this.clock = opts.clock ?? systemClock;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error("leaseDurationMs must exceed renewDeadlineMs");
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Healthy while the API server answered us within one lease duration (standbys included). */
  healthy(): boolean {
    return this.clock.now() - this.lastApiSuccess <= this.leaseDurationMs + this.renewDeadlineMs;
  }

  /** One round of client-go's tryAcquireOrRenew. True when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const key = { namespace: this.config.namespace, name: this.config.name };
    const current = await this.client.readLease(key);
    this.lastApiSuccess = this.clock.now();
    if (!current) return this.write(() => this.client.createLease(this.desiredLease(undefined, now)));
    this.observe(current, now);
    const holder = current.spec?.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== this.config.identity;
    if (heldByOther && this.observedTime + this.leaseDurationMs > now) return this.setLeader(false);
    return this.write(() => this.client.replaceLease(this.desiredLease(current, now)));
  }

  /** Retries every retryPeriod until we lead (true) or `signal` aborts (false). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.opts.logger.info({ lease: this.config }, "Attempting to acquire leader lease");
    while (!signal.aborted) {
      if (await this.attempt()) {
        this.opts.logger.info({ identity: this.config.identity }, "Successfully acquired lease");
        return true;
      }
      await sleep(this.jittered(), signal);
    }
    return false;
  }

  /**
   * Renews until `signal` aborts ("stopped") or a renewal round fails for renewDeadline ("lost").
   * Call only after acquire() returned true.
   */
  async renewUntilLost(signal: AbortSignal): Promise<"lost" | "stopped"> {
    while (!signal.aborted) {
      await sleep(this.retryPeriodMs, signal);
      if (signal.aborted) break;
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = await this.attempt();
      while (!renewed && !signal.aborted && this.clock.now() < deadline) {
        await sleep(this.retryPeriodMs, signal);
        renewed = await this.attempt();
      }
      if (!renewed && !signal.aborted) {
        this.opts.logger.error({ identity: this.config.identity }, "Failed to renew lease, leadership lost");
        this.setLeader(false);
        return "lost";
      }
    }
    return "stopped";
  }

  /** Gives the lease up if we hold it. Never throws: a failed release only delays the successor. */
  async release(): Promise<void> {
    if (!this.leader || !this.observedLease) return;
    const now = microTime(this.clock.now());
    const lease: Lease = {
      ...this.observedLease,
      spec: { ...this.observedLease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
    };
    try {
      await this.client.replaceLease(lease);
      this.opts.logger.info({ identity: this.config.identity }, "Released leader lease");
    } catch (err) {
      this.opts.logger.warn({ err }, "Failed to release leader lease");
    }
    this.setLeader(false);
  }

  private async attempt(): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew();
    } catch (err) {
      this.opts.logger.warn({ err }, "Error retrieving or updating the leader lease");
      return false;
    }
  }

  private async write(call: () => Promise<Lease>): Promise<boolean> {
    try {
      const written = await call();
      this.observe(written, this.clock.now());
      this.lastApiSuccess = this.clock.now();
      return this.setLeader(true);
    } catch (err) {
      // Losing a create/update race is an ordinary "someone else got it" outcome, not an error.
      if (err instanceof ConflictError) return this.setLeader(false);
      throw err;
    }
  }

  private observe(lease: Lease, now: number): void {
    const raw = JSON.stringify(lease.spec ?? {});
    if (raw !== this.observedRaw) {
      this.observedRaw = raw;
      this.observedSpec = lease.spec;
      this.observedTime = now;
    }
    this.observedLease = lease;
  }

  private desiredLease(current: Lease | undefined, now: number): Lease {
    const ours = current?.spec?.holderIdentity === this.config.identity;
    const transitions = current?.spec?.leaseTransitions ?? 0;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: current ? { ...current.metadata } : { name: this.config.name, namespace: this.config.namespace },
      spec: {
        holderIdentity: this.config.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: ours && current?.spec?.acquireTime ? current.spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: !current ? 0 : ours ? transitions : transitions + 1,
      },
    };
  }

  private setLeader(leader: boolean): boolean {
    if (leader !== this.leader) {
      this.leader = leader;
      this.opts.onLeaderChange?.(leader);
    }
    return leader;
  }

  private jittered(): number {
    return this.retryPeriodMs * (1 + Math.random() * 0.2);
  }

  /** Last lease spec seen (for logs and tests). */
  get observed(): LeaseSpec | undefined {
    return this.observedSpec;
  }
}
