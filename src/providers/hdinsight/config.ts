/** Operator-level settings of the HDInsight provider; the defaults suit an HDInsight head node. */
export interface HdInsightConfig {
  /** spark-submit on the head node (a name on PATH or an absolute path). Default spark-submit. */
  readonly sparkSubmit?: string;
  /**
   * --master for runs. Default: none, so the cluster's spark-defaults apply (YARN on HDInsight).
   * `local[*]` runs the application inside the driver process (single-machine Spark).
   */
  readonly sparkMaster?: string;
  /** Re-probe a Ready head node this often. Default 5 min. */
  readonly probeIntervalMs?: number;
}
