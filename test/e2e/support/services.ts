// Addresses of the services `make cluster-up` embeds (Azurite, MLflow), from .cluster/services.env.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../cluster/kubectl.js";

/** KEY=value lines (values may be single-quoted); empty when the cluster has not written the file. */
export function clusterServicesEnv(file = join(repoRoot, ".cluster", "services.env")): Record<string, string> {
  if (!existsSync(file)) return {};
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!.replace(/^'(.*)'$/, "$1").replace(/^"(.*)"$/, "$1");
  }
  return env;
}

/**
 * The operator's MLflow settings from services.env (a variable already in the environment wins, so
 * a developer can point the tests at a server of their own); throws with a hint when there is none.
 */
export function mlflowEnv(): { MLFLOW_TRACKING_URI: string; MLFLOW_TARGET_TRACKING_URI: string } {
  const file = clusterServicesEnv();
  const uri = process.env.MLFLOW_TRACKING_URI ?? file.MLFLOW_TRACKING_URI;
  const target = process.env.MLFLOW_TARGET_TRACKING_URI ?? file.MLFLOW_TARGET_TRACKING_URI;
  if (!uri || !target) {
    throw new Error("no MLflow tracking server: `make cluster-up` starts one and writes .cluster/services.env (MLFLOW_TRACKING_URI, MLFLOW_TARGET_TRACKING_URI)");
  }
  return { MLFLOW_TRACKING_URI: uri, MLFLOW_TARGET_TRACKING_URI: target };
}

/**
 * Operator settings for targets on this machine (the sshd "VMs" on 127.0.0.1): they reach the
 * store where the operator does, on loopback; a real VM gets the store's target URL
 * (AML_STORE_TARGET_URL) like pods do.
 */
export function storeOnLoopback(): { AML_STORE_TARGET_URL: string } {
  const url = clusterServicesEnv().AML_STORE_URL;
  if (!url) throw new Error("no run store: `make cluster-up` starts Azurite and writes .cluster/services.env (AML_STORE_URL)");
  return { AML_STORE_TARGET_URL: url };
}
