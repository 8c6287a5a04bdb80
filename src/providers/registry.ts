import { createDatabricksProvider } from "./databricks/index.js";
import { localComputeProvider } from "./local/compute-provider.js";
import { localRunExecutor } from "./local/run-executor.js";
import { retiredComputeProvider } from "./retired.js";
import type { ProviderRegistry } from "./types.js";

/**
 * Providers that need no configuration. main.ts adds the ones built from config (SSH, Azure);
 * a type with no entry reports ProviderNotAvailable.
 */
export const builtinProviders = (): ProviderRegistry => ({
  Local: { compute: localComputeProvider, executor: localRunExecutor },
  DataLakeAnalytics: { compute: retiredComputeProvider },
  // Public-CA HTTPS and a token from each target's Secret: nothing to configure.
  Databricks: createDatabricksProvider(),
});
