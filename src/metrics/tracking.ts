/**
 * Where a run's MLflow metrics go, per compute target type (small adapters; URI shapes in the README):
 *
 * - Local, RemoteVM: the operator's tracking server (the embedded one from `make cluster-up`, or
 *   the chart's / an existing one). The operator creates the MLflow run before submitting and hands
 *   the script MLFLOW_TRACKING_URI + MLFLOW_EXPERIMENT_ID + MLFLOW_RUN_ID, so `mlflow.log_metric`
 *   works unchanged. Pods and VMs may reach the server at another address than the operator does.
 * - Databricks: the workspace's managed MLflow (`<workspaceUrl>/api/2.0/mlflow`, the target's
 *   token); the script gets MLFLOW_TRACKING_URI=databricks and the run the operator created.
 * - AmlCompute: the workspace's own MLflow tracking
 *   (`azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>`,
 *   REST at the same path over https). Azure ML sets the job's tracking itself, and a job's MLflow
 *   run id is its job name, so the operator only reads. Opt-in through AZUREML_MLFLOW_ENDPOINT
 *   (`https://{region}.api.azureml.ms` in Azure's public cloud): the operator never guesses a host.
 */
import type { ComputeTarget } from "../api/v1alpha1/index.js";
import type { MlflowEndpoint } from "./mlflow-client.js";

export interface TrackingConfig {
  /** The server as the operator reaches it (MLFLOW_TRACKING_URI). Empty: MLflow off for Local/RemoteVM. */
  readonly uri?: string;
  /** The same server as Local pods reach it (MLFLOW_TARGET_TRACKING_URI); default `uri`. */
  readonly localUri?: string;
  /** The same server as RemoteVM/HDInsight machines reach it (MLFLOW_REMOTE_VM_TRACKING_URI); default `uri`. */
  readonly remoteVmUri?: string;
  /** Azure ML's MLflow host, `{region}` replaced by the target's location (AZUREML_MLFLOW_ENDPOINT). */
  readonly azureMlEndpoint?: string;
}

export function trackingConfigFromEnv(env: NodeJS.ProcessEnv): TrackingConfig {
  const uri = env.MLFLOW_TRACKING_URI || undefined;
  return {
    ...(uri ? { uri } : {}),
    ...(env.MLFLOW_TARGET_TRACKING_URI ? { localUri: env.MLFLOW_TARGET_TRACKING_URI } : {}),
    ...(env.MLFLOW_REMOTE_VM_TRACKING_URI ? { remoteVmUri: env.MLFLOW_REMOTE_VM_TRACKING_URI } : {}),
    ...(env.AZUREML_MLFLOW_ENDPOINT ? { azureMlEndpoint: env.AZUREML_MLFLOW_ENDPOINT } : {}),
  };
}

/** How one run reaches MLflow: what the script is told, and how the operator reads it back. */
export interface RunTracking {
  /** The operator creates the MLflow run before the first submit (false: the platform does). */
  readonly createsRun: boolean;
  /** MLFLOW_TRACKING_URI as the script sees it. */
  readonly scriptUri: string;
  /** REST endpoint as the operator reaches it; auth resolved by the caller for remote services. */
  readonly apiBase: string;
  /** Needs the target's credentials (Databricks token, Azure token). */
  readonly auth?: "databricks-token" | "azure";
}

export function azureMlTrackingUri(t: { subscriptionId: string; resourceGroup: string; name: string }, region: string): string {
  return `azureml://${region}.api.azureml.ms/mlflow/v1.0/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroup}` +
    `/providers/Microsoft.MachineLearningServices/workspaces/${t.name}`;
}

/** The REST base of an azureml:// tracking URI on the configured host (`{region}` filled in). */
export function azureMlApiBase(trackingUri: string, endpoint: string, region: string): string {
  const path = trackingUri.replace(/^azureml:\/\/[^/]+/, "");
  return `${endpoint.replace("{region}", region).replace(/\/+$/, "")}${path}`;
}

export function trackingFor(target: ComputeTarget, config: TrackingConfig): RunTracking | undefined {
  switch (target.spec.type) {
    case "Local":
      return config.uri ? { createsRun: true, scriptUri: config.localUri ?? config.uri, apiBase: config.uri } : undefined;
    case "RemoteVM":
    case "HDInsight":
      return config.uri ? { createsRun: true, scriptUri: config.remoteVmUri ?? config.uri, apiBase: config.uri } : undefined;
    case "Databricks": {
      const url = target.spec.databricks?.workspaceUrl;
      return url ? { createsRun: true, scriptUri: "databricks", apiBase: url, auth: "databricks-token" } : undefined;
    }
    case "AmlCompute": {
      const ws = target.spec.amlCompute?.workspace;
      const region = target.spec.amlCompute?.location;
      if (!ws || !region || !config.azureMlEndpoint) return undefined;
      const uri = azureMlTrackingUri(ws, region);
      return { createsRun: false, scriptUri: uri, apiBase: azureMlApiBase(uri, config.azureMlEndpoint, region), auth: "azure" };
    }
    case "AzureBatch":
    case "DataLakeAnalytics":
      // Batch tasks have no tracking service of their own: metric lines in the output only.
      return undefined;
  }
}

/** Environment variables that point `mlflow` in the script at its run. */
export function trackingEnvironment(t: RunTracking, ids: { experimentId?: string; runId: string }): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: t.scriptUri,
    MLFLOW_RUN_ID: ids.runId,
    ...(ids.experimentId ? { MLFLOW_EXPERIMENT_ID: ids.experimentId } : {}),
  };
}

export type { MlflowEndpoint };
