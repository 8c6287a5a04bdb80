import { SessionPool } from "../ssh/index.js";
import type { ProviderEntry } from "../types.js";
import type { HdInsightConfig } from "./config.js";
import { HdInsightExecutor } from "./executor.js";
import { HdInsightProvider } from "./provider.js";

export { hdInsightConfigFromEnv, type HdInsightConfig } from "./config.js";
export { HdInsightProvider } from "./provider.js";
export { HdInsightExecutor } from "./executor.js";
export { asRemoteVmSubmission, asRemoteVmTarget, sparkSubmitArgv } from "./remote-vm-view.js";

/**
 * The registry entry for `type: HDInsight`. Pass the RemoteVM entry's pool to share SSH
 * connections:  HDInsight: createHdInsightProvider({ pool: remoteVm.pool })
 */
export function createHdInsightProvider(opts: HdInsightConfig & { readonly pool?: SessionPool } = {}): ProviderEntry & { readonly pool: SessionPool } {
  const pool = opts.pool ?? new SessionPool({});
  return { pool, compute: new HdInsightProvider(pool, opts), executor: new HdInsightExecutor(pool, opts) };
}
