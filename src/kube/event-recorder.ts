import type { Logger } from "pino";
import { microTime, systemClock, type Clock } from "../runtime/clock.js";
import { resourcePath } from "./paths.js";
import { sendJson, type Transport } from "./transport.js";
import { BuiltinKinds, type KubeObject } from "./types.js";

export const REPORTING_CONTROLLER = "amlcompute.dev/operator";
const MAX_NOTE = 1024;

export interface EventRecorderOptions {
  logger: Logger;
  /** reportingInstance: this replica's identity (pod name). */
  identity: string;
  clock?: Clock;
  /** Identical (object, reason, message) events inside this window are sent once. */
  dedupeWindowMs?: number;
}

/**
 * Fire-and-forget events.k8s.io/v1 Events. Controllers emit on transitions only;
 * the short de-duplication window here only absorbs repeats from retries of the same transition,
 * the role client-go's EventCorrelator plays.
 */
export class EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly clock: Clock;
  private readonly windowMs: number;

  constructor(private readonly transport: Transport, private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? systemClock;
    this.windowMs = opts.dedupeWindowMs ?? 60_000;
  }

  /** Never throws and never rejects: failures are logged at debug. */
  record(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    try {
      const now = this.clock.now();
      const regarding = obj.metadata.uid ?? `${obj.metadata.namespace}/${obj.metadata.name}`;
      const key = `${regarding}\u0000${reason}\u0000${message}`;
      const last = this.recent.get(key);
      if (last !== undefined && now - last < this.windowMs) return;
      this.recent.set(key, now);
      this.prune(now);
      const event = this.buildEvent(obj, { type, reason, message }, now);
      sendJson(this.transport, {
        verb: "create", kind: "Event", path: resourcePath(BuiltinKinds.Event, event.metadata.namespace), body: event,
      }).catch((err: unknown) => this.opts.logger.debug({ err, reason }, "Failed to record event"));
    } catch (err) {
      this.opts.logger.debug({ err, reason }, "Failed to record event");
    }
  }

  private buildEvent(
    obj: KubeObject, { type, reason, message }: { type: string; reason: string; message: string }, now: number,
  ): KubeObject & Record<string, unknown> {
    const namespace = obj.metadata.namespace || "default";
    return {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { namespace, name: `${obj.metadata.name ?? "object"}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}` },
      eventTime: microTime(now),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.opts.identity,
      action: reason,
      reason,
      type,
      note: message.length > MAX_NOTE ? `${message.slice(0, MAX_NOTE - 3)}...` : message,
      regarding: {
        apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace,
        uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion,
      },
    };
  }

  private prune(now: number): void {
    if (this.recent.size < 1000) return;
    for (const [k, t] of this.recent) if (now - t >= this.windowMs) this.recent.delete(k);
  }
}
