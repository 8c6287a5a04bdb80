import { AzureClients } from "../shared/azure/clients.js";
import { resolveConfig, type AzureMlConfig } from "../shared/azure/config.js";
import { firstProblem, Rules } from "../shared/validate.js";
import type { ProviderEntry } from "../types.js";
import { BatchArm } from "./arm.js";
import { BatchComputeProvider } from "./compute.js";
import { resolveBatchConfig, type AzureBatchConfig } from "./config.js";
import { BatchRunExecutor } from "./executor.js";

export { batchJobId, type BatchHandle } from "./executor.js";

/**
 * The registry entry for `type: AzureBatch`. It speaks ARM with the AmlCompute provider's Azure
 * settings (endpoint, authority, CA, credentials Secret) and, when given, the same AzureClients
 * so that both share credentials, token caches and the per-subscription request budget:
 *   const aml = createAmlComputeProvider(config.azureml);
 *   AzureBatch: createAzureBatchProvider(config.azureml, {}, aml.clients)
 */
export function createAzureBatchProvider(azureml: AzureMlConfig = {}, batch: AzureBatchConfig = {}, clients?: AzureClients): ProviderEntry {
  const resolved = resolveConfig(azureml);
  const azure = clients ?? new AzureClients(resolved);
  const arm = new BatchArm(azure, resolved);
  const config = resolveBatchConfig(batch);
  return {
    compute: new BatchComputeProvider(arm, config),
    executor: new BatchRunExecutor(arm, resolved, config),
    validate: firstProblem(Rules.noPySpark),
  };
}
