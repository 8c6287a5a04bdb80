import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { WorkQueueMetrics } from "../runtime/workqueue.js";

/**
 * Every metric the runtime and kube layer export, under controller-runtime / client-go names so
 * existing dashboards work. One instance per Registry: prom-client refuses to
 * register a name twice, and the Manager and KubeClientImpl both need the same series.
 */
export interface OperatorMetrics {
  readonly reconcileTotal: Counter<"controller" | "result">;
  readonly reconcileErrors: Counter<"controller">;
  readonly terminalReconcileErrors: Counter<"controller">;
  readonly reconcileTime: Histogram<"controller">;
  readonly maxConcurrentReconciles: Gauge<"controller">;
  readonly activeWorkers: Gauge<"controller">;
  readonly workqueueDepth: Gauge<"name" | "controller">;
  readonly workqueueAdds: Counter<"name" | "controller">;
  readonly workqueueRetries: Counter<"name" | "controller">;
  readonly workqueueQueueDuration: Histogram<"name" | "controller">;
  readonly workqueueWorkDuration: Histogram<"name" | "controller">;
  readonly leaderElectionMasterStatus: Gauge<"name">;
  readonly restClientRequests: Counter<"method" | "code">;
  /** Requests by Kubernetes verb and kind (what RBAC and the benchmark count). */
  readonly apiRequestsByKind: Counter<"verb" | "kind">;
  readonly restClientRateLimiterDuration: Histogram;
  readonly apiConnectionsOpened: Counter;
}

export type ReconcileResultLabel = "success" | "error" | "requeue" | "requeue_after";

const byRegistry = new WeakMap<Registry, OperatorMetrics>();

// controller-runtime's reconcile_time buckets and client-go's workqueue buckets (10 µs … 1000 s).
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7,
  0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60];
const WORKQUEUE_BUCKETS = [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000];

export function operatorMetrics(registry: Registry): OperatorMetrics {
  const cached = byRegistry.get(registry);
  if (cached) return cached;
  const registers = [registry];
  const wq = ["name", "controller"] as const;
  const m: OperatorMetrics = {
    reconcileTotal: new Counter({ name: "controller_runtime_reconcile_total", help: "Total number of reconciliations per controller", labelNames: ["controller", "result"], registers }),
    reconcileErrors: new Counter({ name: "controller_runtime_reconcile_errors_total", help: "Total number of reconciliation errors per controller", labelNames: ["controller"], registers }),
    terminalReconcileErrors: new Counter({ name: "controller_runtime_terminal_reconcile_errors_total", help: "Total number of terminal reconciliation errors per controller", labelNames: ["controller"], registers }),
    reconcileTime: new Histogram({ name: "controller_runtime_reconcile_time_seconds", help: "Length of time per reconciliation per controller", labelNames: ["controller"], buckets: RECONCILE_BUCKETS, registers }),
    maxConcurrentReconciles: new Gauge({ name: "controller_runtime_max_concurrent_reconciles", help: "Maximum number of concurrent reconciles per controller", labelNames: ["controller"], registers }),
    activeWorkers: new Gauge({ name: "controller_runtime_active_workers", help: "Number of currently used workers per controller", labelNames: ["controller"], registers }),
    workqueueDepth: new Gauge({ name: "workqueue_depth", help: "Current depth of workqueue", labelNames: wq, registers }),
    workqueueAdds: new Counter({ name: "workqueue_adds_total", help: "Total number of adds handled by workqueue", labelNames: wq, registers }),
    workqueueRetries: new Counter({ name: "workqueue_retries_total", help: "Total number of retries handled by workqueue", labelNames: wq, registers }),
    workqueueQueueDuration: new Histogram({ name: "workqueue_queue_duration_seconds", help: "How long in seconds an item stays in workqueue before being requested", labelNames: wq, buckets: WORKQUEUE_BUCKETS, registers }),
    workqueueWorkDuration: new Histogram({ name: "workqueue_work_duration_seconds", help: "How long in seconds processing an item from workqueue takes", labelNames: wq, buckets: WORKQUEUE_BUCKETS, registers }),
    leaderElectionMasterStatus: new Gauge({ name: "leader_election_master_status", help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master", labelNames: ["name"], registers }),
    restClientRequests: new Counter({ name: "rest_client_requests_total", help: "Number of HTTP requests, partitioned by status code and method", labelNames: ["method", "code"], registers }),
    apiRequestsByKind: new Counter({ name: "aml_apiserver_requests_total", help: "Requests sent to the API server, by Kubernetes verb and kind", labelNames: ["verb", "kind"], registers }),
    restClientRateLimiterDuration: new Histogram({ name: "rest_client_rate_limiter_duration_seconds", help: "Client side rate limiter latency in seconds", buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60], registers }),
    apiConnectionsOpened: new Counter({ name: "aml_apiserver_connections_opened_total", help: "TCP connections opened to the API server", registers }),
  };
  byRegistry.set(registry, m);
  return m;
}

/** Binds a controller's work queue to the workqueue_* series (controller-runtime labels name=controller). */
export function workQueueMetricsFor(m: OperatorMetrics, controller: string): WorkQueueMetrics {
  const labels = { name: controller, controller };
  return {
    add: () => m.workqueueAdds.inc(labels),
    depth: (n) => m.workqueueDepth.set(labels, n),
    retry: () => m.workqueueRetries.inc(labels),
    queueLatency: (s) => m.workqueueQueueDuration.observe(labels, s),
    workDuration: (s) => m.workqueueWorkDuration.observe(labels, s),
  };
}
