import { firstProblem } from "../shared/validate.js";
import type { ProviderEntry } from "../types.js";
import { DatabricksComputeProvider } from "./compute.js";
import { resolveDatabricksConfig, type DatabricksConfig } from "./config.js";
import { DatabricksRunExecutor } from "./executor.js";
import { RestClient } from "../shared/rest.js";
import type { AzureClients } from "../shared/azure/clients.js";

export { type DatabricksHandle } from "./executor.js";

/**
 * The registry entry for `type: Databricks`. A personal access token from the target's Secret, or
 * (authentication EntraID) a Microsoft Entra token from `azure`, the Azure credentials AmlCompute
 * uses, authenticates every call; the defaults suit production.
 */
export function createDatabricksProvider(config: DatabricksConfig = {}, azure?: AzureClients): ProviderEntry {
  const resolved = resolveDatabricksConfig(config);
  const access = { rest: new RestClient({ caBundlePath: resolved.caBundlePath }), ...(azure ? { azure } : {}) };
  return {
    compute: new DatabricksComputeProvider(access, resolved),
    executor: new DatabricksRunExecutor(access, resolved),
    // The script runs once, on the driver; nodeCount sizes the job cluster (Spark, or
    // TorchDistributor inside the script, spreads the work). Nothing starts processes per node.
    validate: firstProblem(
      (config) => config.processCountPerNode > 1
        ? "Databricks runs the script once on the driver: processCountPerNode must be 1 (spread work with Spark or TorchDistributor)" : undefined,
      (config) => config.framework === "MPI" ? "Databricks job clusters have no MPI launcher: run MPI on AmlCompute" : undefined,
    ),
  };
}
