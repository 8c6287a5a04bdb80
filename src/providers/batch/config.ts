/** Settings of the AzureBatch provider beyond the shared Azure ones (ARM endpoint, authority, CA). */
export interface AzureBatchConfig {
  /** Token scope of the Batch data plane. Default https://batch.core.windows.net/.default. */
  readonly batchScope?: string;
  /** Batch data-plane api-version. Default 2024-07-01.20.0. */
  readonly dataPlaneApiVersion?: string;
  /** VM size of a run's auto-pool when the target names no pool. Default standard_d2s_v3. */
  readonly autoPoolVmSize?: string;
  /** Blob container (in the account's auto-storage) for snapshots. Default amlcompute-snapshots. */
  readonly snapshotContainer?: string;
  /** Poll interval for active tasks. Default 15 s. */
  readonly taskPollMs?: number;
  /** Re-check a Ready account this often. Default 5 min. */
  readonly resyncMs?: number;
}

export type ResolvedAzureBatchConfig = Required<AzureBatchConfig>;

export function resolveBatchConfig(c: AzureBatchConfig = {}): ResolvedAzureBatchConfig {
  return {
    batchScope: c.batchScope ?? "https://batch.core.windows.net/.default",
    dataPlaneApiVersion: c.dataPlaneApiVersion ?? "2024-07-01.20.0",
    autoPoolVmSize: c.autoPoolVmSize ?? "standard_d2s_v3",
    snapshotContainer: c.snapshotContainer ?? "amlcompute-snapshots",
    taskPollMs: c.taskPollMs ?? 15_000,
    resyncMs: c.resyncMs ?? 300_000,
  };
}
