/** Operator-level settings of the Databricks provider; every field has a production default. */
export interface DatabricksConfig {
  /** PEM file trusted in addition to Node's roots (private CAs, the test emulator). */
  readonly caBundlePath?: string;
  /** Spark runtime of the job cluster when the target names no existing cluster. */
  readonly sparkVersion?: string;
  /** Node type of that job cluster. */
  readonly nodeTypeId?: string;
  /** Poll interval for active runs. Default 15 s. */
  readonly runPollMs?: number;
  /** Re-check a Ready workspace this often. Default 5 min. */
  readonly resyncMs?: number;
  /**
   * Workspace folder for the runs' entry files (Workspace files; new workspaces have no DBFS root).
   * Default /Shared/amlcompute, which every workspace user may write by default.
   */
  readonly filesRoot?: string;
  /** Secret scope that holds each attempt's store SAS URLs while it runs. Default amlcompute. */
  readonly secretScope?: string;
}

export type ResolvedDatabricksConfig = Required<Omit<DatabricksConfig, "caBundlePath">> & Pick<DatabricksConfig, "caBundlePath">;

export function resolveDatabricksConfig(c: DatabricksConfig = {}): ResolvedDatabricksConfig {
  return {
    caBundlePath: c.caBundlePath,
    sparkVersion: c.sparkVersion ?? "15.4.x-scala2.12",
    nodeTypeId: c.nodeTypeId ?? "Standard_DS3_v2",
    runPollMs: c.runPollMs ?? 15_000,
    resyncMs: c.resyncMs ?? 300_000,
    filesRoot: (c.filesRoot ?? "/Shared/amlcompute").replace(/\/+$/, ""),
    secretScope: c.secretScope ?? "amlcompute",
  };
}
