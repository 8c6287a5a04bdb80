import type { ComputeTargetType } from "../api/v1alpha1/index.js";
import type { AzureMlConfig } from "./shared/azure/config.js";
import type { HdInsightConfig } from "./hdinsight/config.js";
import type { LocalTargetsConfig } from "./local/host-path.js";
import type { ProviderEntry, ProviderRegistry } from "./types.js";

type Loader = () => Promise<ProviderEntry>;

/** Memoizes an async factory; a failed attempt is forgotten so the next call tries again. */
function once<T>(factory: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= factory().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

/** A registry over loaders: each runs once, on the first entry() for its type. */
export function lazyRegistry(loaders: Partial<Record<ComputeTargetType, Loader>>): ProviderRegistry {
  const memo = new Map<ComputeTargetType, () => Promise<ProviderEntry>>();
  const loaded = new Set<ProviderEntry>();
  return {
    entry(type) {
      const load = loaders[type];
      if (!load) return Promise.resolve(undefined);
      let get = memo.get(type);
      if (!get) {
        get = once(async () => {
          const entry = await load();
          loaded.add(entry);
          return entry;
        });
        memo.set(type, get);
      }
      return get();
    },
    close() {
      for (const entry of loaded) entry.close?.();
    },
  };
}

/** A registry of ready-made entries (tests, tools). */
export const registryOf = (entries: Partial<Record<ComputeTargetType, ProviderEntry>>): ProviderRegistry =>
  lazyRegistry(Object.fromEntries(Object.entries(entries).map(([type, entry]) => [type, async () => entry])));

export interface ProvidersConfig {
  readonly azureml?: AzureMlConfig;
  readonly hdInsight?: HdInsightConfig;
  readonly local?: LocalTargetsConfig;
}

/**
 * Every provider of this build, one line per target type. A provider's module (and with it its
 * SDKs: the Azure SDKs, ssh2) is imported when the first target of its type is reconciled, so an
 * operator that only runs Local targets never loads them. Shared parts are built once: AmlCompute,
 * AzureBatch and HDInsight share Azure credentials, token caches and the per-subscription request
 * budget (Databricks the credentials, for Entra tokens); RemoteVM and HDInsight share one SSH
 * session pool.
 */
export function operatorProviders(config: ProvidersConfig = {}): ProviderRegistry {
  const aml = once(async () => (await import("./azureml/index.js")).createAmlComputeProvider(config.azureml));
  const remoteVm = once(async () => (await import("./ssh/index.js")).createRemoteVmProvider());
  return lazyRegistry({
    Local: async () => (await import("./local/index.js")).createLocalProvider(config.local),
    AmlCompute: aml,
    RemoteVM: remoteVm,
    AzureBatch: async () => (await import("./batch/index.js")).createAzureBatchProvider(config.azureml, {}, (await aml()).clients),
    HDInsight: async () => (await import("./hdinsight/index.js")).createHdInsightProvider({
      ...config.hdInsight, pool: (await remoteVm()).pool, azureml: config.azureml, clients: (await aml()).clients,
    }),
    // A token from each target's Secret, or an Entra token from the Azure credentials AmlCompute
    // uses; the Azure CA bundle applies when set.
    Databricks: async () => (await import("./databricks/index.js")).createDatabricksProvider(
      config.azureml?.caBundlePath ? { caBundlePath: config.azureml.caBundlePath } : {}, (await aml()).clients,
    ),
    DataLakeAnalytics: async () => (await import("./retired.js")).retiredProvider(),
  });
}
