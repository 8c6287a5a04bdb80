import type { ProviderEntry } from "../types.js";
import { firstProblem, Rules } from "../shared/validate.js";
import { RemoteVmExecutor } from "./remote-vm-executor.js";
import { RemoteVmProvider } from "./remote-vm-provider.js";
import { SessionPool } from "./session-pool.js";

export { RemoteVmExecutor, decodeRemoteVmHandle, type RemoteVmHandle } from "./remote-vm-executor.js";
export { RemoteVmProvider } from "./remote-vm-provider.js";
export { SessionPool } from "./session-pool.js";
// The SSH layer HDInsight (head node) reuses:
export { resolveConnectionSettings } from "./connection-settings.js";

export interface RemoteVmProviderOptions {
  /** Share one pool with other SSH-based providers (HDInsight) so they share connections. */
  readonly pool?: SessionPool;
  /** Idle time before a pooled connection closes. Default 60 s. */
  readonly idleTimeoutMs?: number;
  readonly probeIntervalMs?: number;
}

/**
 * The registry entry for `type: RemoteVM`:
 *   registry.RemoteVM = createRemoteVmProvider();
 * Needs nothing but ProviderContext.readSecret at call time. Call `entry.pool.closeAll()` on shutdown.
 */
export function createRemoteVmProvider(opts: RemoteVmProviderOptions = {}): ProviderEntry & { readonly pool: SessionPool } {
  const pool = opts.pool ?? new SessionPool({ idleTimeoutMs: opts.idleTimeoutMs });
  return {
    pool,
    compute: new RemoteVmProvider({ pool, probeIntervalMs: opts.probeIntervalMs }),
    executor: new RemoteVmExecutor({ pool }),
    validate: firstProblem(
      Rules.noPySpark, Rules.singleNode,
      (config) => config.processCountPerNode > 1 ? "a RemoteVM runs one process on one machine: processCountPerNode must be 1" : undefined,
      (config) => config.docker?.enabled && config.environment?.systemManaged
        ? "docker mode on RemoteVM runs the image's own Python: use a userManaged environment (interpreter inside the image)" : undefined,
    ),
    close: () => pool.closeAll(),
  };
}
