/**
 * Operator configuration: environment variables (and nothing else reads process.env). Validated
 * once at start; a bad value stops the process with a clear message instead of a crash loop later.
 */
import { hostname } from "node:os";
import { dataPlaneEnv, type DataPlaneEnv } from "./data-plane/config.js";
// The providers' settings modules only: the providers themselves (and their SDKs) load on first use.
import type { AzureMlConfig } from "./providers/shared/azure/config.js";
import { azureMlConfigFromEnv } from "./providers/azureml/env.js";
import { hdInsightConfigFromEnv, type HdInsightConfig } from "./providers/hdinsight/config.js";
import { localTargetsConfigFromEnv, type LocalTargetsConfig } from "./providers/local/host-path.js";
import { trackingConfigFromEnv, type TrackingConfig } from "./metrics/tracking.js";

export interface Config {
  logLevel: string;
  identity: string;
  healthPort: number;
  metricsPort: number;
  /** Only one replica reconciles; others keep warm caches. On in a cluster, off for a local process (LEADER_ELECT overrides). */
  leaderElection: { enabled: boolean; namespace: string; name: string };
  trainingRunConcurrency: number;
  /** Client-side API request budget (client-go's QPS/Burst); qps 0 disables it. */
  apiRateLimit: { qps: number; burst: number };
  /** Offer HTTP/2 to the API server (one multiplexed connection); false: HTTP/1.1 keep-alive. */
  apiHttp2: boolean;
  /** Reconcile only this namespace (empty: all namespaces). */
  watchNamespace?: string;
  /** Kubeconfig file; empty means in-cluster or $KUBECONFIG/~/.kube/config as kubectl resolves it. */
  kubeconfig?: string;
  /** Azure endpoints, authority, CA bundle, request budget (docs/azure.md). */
  azureml: AzureMlConfig;
  /** The run data plane's store (AML_STORE_*, docs/data-plane.md); serializes without credentials. */
  dataPlane: DataPlaneEnv;
  /** spark-submit path and master for HDInsight head nodes (docs/attached-targets.md). */
  hdInsight: HdInsightConfig;
  /** Node directories Local targets may use as environment caches (LOCAL_ALLOWED_HOST_PATH_PREFIXES). */
  localTargets: LocalTargetsConfig;
  /** MLflow tracking server for Local/RemoteVM runs (README, Metrics). */
  tracking: TrackingConfig;
  /** Python with Optuna for Bayesian sweeps (hack/suggestion-env.sh prints one). */
  suggestionPython: string;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    logLevel: env.LOG_LEVEL ?? "info",
    identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
    healthPort: int(env, "HEALTH_PORT", 8081),
    metricsPort: int(env, "METRICS_PORT", 8080),
    leaderElection: {
      // In a cluster another replica can always appear (scaling, a rollout's surge): elect a leader
      // unless told otherwise. A process outside the cluster (development, tests) runs alone.
      enabled: (env.LEADER_ELECT ?? (env.KUBERNETES_SERVICE_HOST ? "true" : "false")) === "true",
      namespace: env.LEADER_ELECTION_NAMESPACE ?? env.POD_NAMESPACE ?? "default",
      name: env.LEADER_ELECTION_ID ?? "aml-compute-operator",
    },
    trainingRunConcurrency: int(env, "TRAININGRUN_CONCURRENCY", 16),
    apiRateLimit: { qps: int(env, "KUBE_API_QPS", 100), burst: int(env, "KUBE_API_BURST", 200) },
    apiHttp2: (env.KUBE_API_HTTP2 ?? "true") !== "false",
    ...(env.WATCH_NAMESPACE ? { watchNamespace: env.WATCH_NAMESPACE } : {}),
    ...(env.KUBECONFIG_PATH ? { kubeconfig: env.KUBECONFIG_PATH } : {}),
    azureml: azureMlConfigFromEnv(env),
    hdInsight: hdInsightConfigFromEnv(env),
    localTargets: localTargetsConfigFromEnv(env),
    tracking: trackingConfigFromEnv(env),
    suggestionPython: env.SUGGESTION_PYTHON || "python3",
    dataPlane: dataPlaneEnv(env),
  };
}
