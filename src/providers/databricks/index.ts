import { firstProblem } from "../shared/validate.js";
import type { ProviderEntry } from "../types.js";
import { DatabricksComputeProvider } from "./compute.js";
import { resolveDatabricksConfig, type DatabricksConfig } from "./config.js";
import { DatabricksRunExecutor } from "./executor.js";
import { RestClient } from "../shared/rest.js";

export { type DatabricksHandle } from "./executor.js";

/**
 * The registry entry for `type: Databricks`. Needs no Azure credentials (a personal access token
 * from the target's Secret authenticates every call); the defaults suit production, so
 * registry.ts registers it as is.
 */
export function createDatabricksProvider(config: DatabricksConfig = {}): ProviderEntry {
  const resolved = resolveDatabricksConfig(config);
  const rest = new RestClient({ caBundlePath: resolved.caBundlePath });
  return {
    compute: new DatabricksComputeProvider(rest, resolved),
    executor: new DatabricksRunExecutor(rest, resolved),
    // The script runs once, on the driver; nodeCount sizes the job cluster (Spark, or
    // TorchDistributor inside the script, spreads the work). Nothing starts processes per node.
    validate: firstProblem(
      (config) => config.processCountPerNode > 1
        ? "Databricks runs the script once on the driver: processCountPerNode must be 1 (spread work with Spark or TorchDistributor)" : undefined,
      (config) => config.framework === "MPI" ? "Databricks job clusters have no MPI launcher: run MPI on AmlCompute" : undefined,
    ),
  };
}
