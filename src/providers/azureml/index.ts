import { firstProblem, Rules } from "../shared/validate.js";
import type { ProviderEntry } from "../types.js";
import { AzureClients } from "../shared/azure/clients.js";
import { AmlComputeProvider } from "./compute.js";
import { resolveConfig, type AzureMlConfig } from "../shared/azure/config.js";
import { AmlRunExecutor } from "./executor.js";

export type { AzureMlConfig } from "../shared/azure/config.js";

/**
 * The registry entry for `type: AmlCompute`. One instance per operator process: it holds the
 * credential/client caches and the per-subscription request budget that all targets share.
 */
export function createAmlComputeProvider(config: AzureMlConfig = {}): Omit<ProviderEntry, "compute" | "executor"> & { compute: AmlComputeProvider; executor: AmlRunExecutor; clients: AzureClients } {
  const resolved = resolveConfig(config);
  const clients = new AzureClients(resolved);
  return {
    needsFinalizer: true,
    compute: new AmlComputeProvider(clients, resolved),
    executor: new AmlRunExecutor(clients, resolved),
    validate: firstProblem(
      Rules.noPySpark,
      // Azure ML starts processCountPerInstance processes only through a distribution block.
      (config) => config.framework === "Python" && config.processCountPerNode > 1
        ? "framework Python runs one process per node on AmlCompute: use PyTorch, TensorFlow or MPI for processCountPerNode > 1" : undefined,
    ),
    clients,
  };
}
