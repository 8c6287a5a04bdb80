import type { ComputeTarget, HdInsightTargetSpec } from "../../api/v1alpha1/index.js";
import { RunReason, TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { Attempt } from "../types.js";
import { firstProblem, Rules } from "../shared/validate.js";
import type { HdInsightConfig } from "./config.js";

/**
 * HDInsight reuses the RemoteVM SSH layer as is: the head node is an SSH machine, and a Spark
 * run is a command (spark-submit) run detached in the run directory. These pure functions
 * translate an HDInsight target and submission into the RemoteVM view that layer understands.
 */

export function hdInsightSpecOf(target: ComputeTarget): HdInsightTargetSpec {
  const spec = target.spec.hdInsight;
  if (target.spec.type !== "HDInsight" || !spec) throw new TerminalError("spec.hdInsight is required when type is HDInsight", TargetReason.InvalidSpec);
  return spec;
}

/** The target as a RemoteVM with the head node's SSH settings; Spark/YARN does the queueing. */
export function asRemoteVmTarget(target: ComputeTarget): ComputeTarget {
  const spec = hdInsightSpecOf(target);
  return {
    ...target,
    spec: {
      ...target.spec,
      type: "RemoteVM",
      remoteVM: {
        address: spec.address, port: spec.port, username: spec.username,
        credentialsSecretRef: spec.credentialsSecretRef, hostKey: spec.hostKey,
        workDir: spec.workDir, maxConcurrentRuns: 1000,
      },
    },
  };
}

/** spark-submit argv for a run: the script is the application, the rest its arguments. */
export function sparkSubmitArgv(sub: Pick<Attempt, "run" | "number" | "argv" | "interpreterNeeded">, config: HdInsightConfig): string[] {
  if (!sub.interpreterNeeded) {
    throw new TerminalError("an HDInsight run needs a Python script (spark-submit runs it); commands are not supported", RunReason.InvalidSpec);
  }
  const [script, ...args] = sub.argv;
  if (!script) throw new TerminalError("the run has no script", RunReason.InvalidSpec);
  return [
    config.sparkSubmit ?? "spark-submit",
    ...(config.sparkMaster ? ["--master", config.sparkMaster] : []),
    // Client mode keeps the driver on the head node, so its output is the run's output and
    // cancelling the process ends the application.
    "--deploy-mode", "client",
    "--name", `${sub.run.metadata.namespace ?? "default"}/${sub.run.metadata.name} attempt ${sub.number}`,
    script, ...args,
  ];
}

/**
 * The submission as the RemoteVM executor runs it: spark-submit as a command in the snapshot
 * directory, one process on the head node. The cluster's Python runs the driver; a userManaged
 * interpreterPath becomes PYSPARK_PYTHON. What HDInsight cannot run at all is refused earlier, by
 * validateHdInsight (the RunConfiguration's Ready condition, and before a run's first submit).
 */
export function asRemoteVmSubmission<H>(sub: Attempt<H>, config: HdInsightConfig): Attempt<H> {
  const interpreter = sub.config.environment?.userManaged?.interpreterPath;
  return {
    ...sub,
    target: asRemoteVmTarget(sub.target),
    argv: sparkSubmitArgv(sub, config),
    interpreterNeeded: false,
    config: {
      ...sub.config,
      nodeCount: 1,
      processCountPerNode: 1,
      environmentVariables: {
        ...(sub.config.environmentVariables ?? {}),
        ...(interpreter ? { PYSPARK_PYTHON: interpreter, PYSPARK_DRIVER_PYTHON: interpreter } : {}),
      },
    },
  };
}

/**
 * What HDInsight cannot run. Environments built by the operator are not supported: HDInsight
 * clusters manage their Python packages with script actions.
 */
export const validateHdInsight = firstProblem(
  Rules.singleNode,
  (config) => config.processCountPerNode > 1
    ? "HDInsight runs one spark-submit on the head node and Spark spreads the work over executors: processCountPerNode must be 1" : undefined,
  (config) => config.environment?.systemManaged
    ? "HDInsight runs use the cluster's Python: use a userManaged environment (interpreterPath sets PYSPARK_PYTHON), and install packages with script actions" : undefined,
  (config) => config.docker?.enabled ? "Docker mode is not available on HDInsight" : undefined,
);
