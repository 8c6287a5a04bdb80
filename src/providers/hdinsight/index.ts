import { AzureClients } from "../shared/azure/clients.js";
import { resolveConfig, type AzureMlConfig } from "../shared/azure/config.js";
import { SessionPool } from "../ssh/index.js";
import type { ProviderEntry } from "../types.js";
import type { HdInsightConfig } from "./config.js";
import { HdInsightExecutor } from "./executor.js";
import { HdInsightProvider } from "./provider.js";
import { HdInsightRegistration } from "./registration.js";
import { validateHdInsight } from "./remote-vm-view.js";

export { type HdInsightConfig } from "./config.js";
export { attachedComputeName } from "./registration.js";

/**
 * The registry entry for `type: HDInsight`. Pass the RemoteVM entry's pool to share SSH
 * connections, and the AmlCompute entry's Azure settings and clients so that registering clusters
 * in a workspace shares credentials, token caches and the per-subscription request budget:
 *   HDInsight: createHdInsightProvider({ pool: remoteVm.pool, azureml: config.azureml, clients: aml.clients })
 * Without `azureml`/`clients`, targets naming a workspace report ProviderNotAvailable. Only
 * targets with a workspace get the finalizer (their registration is detached on deletion).
 */
export function createHdInsightProvider(
  opts: HdInsightConfig & { readonly pool?: SessionPool; readonly azureml?: AzureMlConfig; readonly clients?: AzureClients } = {},
): ProviderEntry & { readonly pool: SessionPool } {
  const pool = opts.pool ?? new SessionPool({});
  const azure = opts.azureml || opts.clients ? resolveConfig(opts.azureml ?? {}) : undefined;
  const registration = azure ? new HdInsightRegistration(opts.clients ?? new AzureClients(azure), azure) : undefined;
  return {
    pool,
    compute: new HdInsightProvider(pool, opts, registration),
    executor: new HdInsightExecutor(pool, opts),
    validate: validateHdInsight,
    needsFinalizer: (target) => Boolean(registration && target.spec.hdInsight?.workspace),
    close: () => pool.closeAll(),
  };
}
