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
