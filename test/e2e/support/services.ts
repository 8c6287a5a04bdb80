// Addresses of the local cluster's embedded services (`make cluster-up` writes them to
// .cluster/services.env as KEY=value lines). A variable already in the environment wins, so a
// developer can point the tests at a server of their own.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../cluster/kubectl.js";

export function clusterServices(): Record<string, string> {
  const file = join(repoRoot, ".cluster", "services.env");
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
      if (m?.[1]) fromFile[m[1]] = m[2]!.replace(/^["']|["']$/g, "");
    }
  }
  const keys = new Set([...Object.keys(fromFile), "MLFLOW_TRACKING_URI", "MLFLOW_TARGET_TRACKING_URI"]);
  return Object.fromEntries([...keys].map((k) => [k, process.env[k] ?? fromFile[k]]).filter((e): e is [string, string] => !!e[1]));
}

/** The operator's MLflow settings; throws with a hint when the cluster has no tracking server. */
export function mlflowEnv(): { MLFLOW_TRACKING_URI: string; MLFLOW_TARGET_TRACKING_URI: string } {
  const s = clusterServices();
  if (!s.MLFLOW_TRACKING_URI || !s.MLFLOW_TARGET_TRACKING_URI) {
    throw new Error("no MLflow tracking server: `make cluster-up` starts one and writes .cluster/services.env (MLFLOW_TRACKING_URI, MLFLOW_TARGET_TRACKING_URI)");
  }
  return { MLFLOW_TRACKING_URI: s.MLFLOW_TRACKING_URI, MLFLOW_TARGET_TRACKING_URI: s.MLFLOW_TARGET_TRACKING_URI };
}
