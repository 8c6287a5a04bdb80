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

/**
 * HDInsight settings from environment variables, for src/config.ts (the only reader of
 * process.env):
 *   HDINSIGHT_SPARK_SUBMIT   spark-submit on the head node (default spark-submit)
 *   HDINSIGHT_SPARK_MASTER   --master for runs (default: the cluster's spark-defaults, YARN)
 */
export function hdInsightConfigFromEnv(env: NodeJS.ProcessEnv): HdInsightConfig {
  return {
    ...(env.HDINSIGHT_SPARK_SUBMIT ? { sparkSubmit: env.HDINSIGHT_SPARK_SUBMIT } : {}),
    ...(env.HDINSIGHT_SPARK_MASTER ? { sparkMaster: env.HDINSIGHT_SPARK_MASTER } : {}),
  };
}
