/**
 * How a Local pod gets its snapshot and keeps its outputs:
 * - the runner script reaches pods through a ConfigMap per namespace named by the script's content
 *   hash (`aml-runner-<hash>`): immutable, shared by every run of the namespace, a new name when
 *   the operator ships a new runner (so a running pod never sees its script change);
 * - the attempt's SAS URLs live in a Secret owned by the TrainingRun (`<job>-store`), read through
 *   secretKeyRef: never in the Job spec, status, Events or logs;
 * - the run's container starts the runner (python3's standard library), which fetches and
 *   verifies the snapshot into the `source` emptyDir before anything runs, then runs the command
 *   there and uploads ./outputs, the log and result.json on exit and on SIGTERM. One container,
 *   not an init container before it: the kubelet notices a finished container only at its next
 *   relist (about a second), a wait every run would pay between the two. A snapshot that cannot
 *   be materialized ends the container with the runner's exit code (86–88) and
 *   `<Reason>: <message>` in its termination message: the script never started.
 */
import type { KubeObject } from "../../kube/types.js";
import { Labels, MANAGED_BY_VALUE, type TrainingRun } from "../../api/v1alpha1/index.js";
import { runnerArgv, RunnerEnv, runnerScript, RUNNER_FILE } from "../../data-plane/runner/index.js";
import { Paths } from "./pod-parts.js";
import { ownerReferenceTo } from "./owner.js";

/** Seconds between the runner forwarding SIGTERM and killing the command. */
export const KILL_AFTER_SECONDS = 20;
/** Pod grace period on deletion (cancel, deadline): the kill delay plus time to upload outputs. */
export const TERMINATION_GRACE_SECONDS = 180;

const STATE_FILE = `${Paths.tmp}/aml-snapshot.json`;
const LOG_FILE = `${Paths.tmp}/aml-output.log`;
const SCRIPT = `${Paths.runner}/${RUNNER_FILE}`;

export const runnerConfigMapName = (): string => `aml-runner-${runnerScript().hash}`;
export const attemptSecretName = (jobName: string): string => `${jobName.slice(0, 240)}-store`;

export function renderRunnerConfigMap(namespace: string): KubeObject & { data: Record<string, string> } {
  return {
    apiVersion: "v1", kind: "ConfigMap",
    metadata: { name: runnerConfigMapName(), namespace, labels: { [Labels.managedBy]: MANAGED_BY_VALUE, "amlcompute.dev/component": "runner" } },
    immutable: true,
    data: { [RUNNER_FILE]: runnerScript().text },
  } as KubeObject & { data: Record<string, string> };
}

/** The attempt's runner environment (SAS URLs) as a Secret owned by the run. */
export function renderAttemptSecret(run: TrainingRun, jobName: string, env: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1", kind: "Secret",
    metadata: {
      name: attemptSecretName(jobName), namespace: run.metadata.namespace,
      labels: { [Labels.managedBy]: MANAGED_BY_VALUE, [Labels.runUid]: run.metadata.uid ?? "" },
      ownerReferences: [ownerReferenceTo(run)],
    },
    type: "Opaque",
    stringData: { [RunnerEnv.snapshotUrl]: env[RunnerEnv.snapshotUrl] ?? "", [RunnerEnv.outputUrl]: env[RunnerEnv.outputUrl] ?? "" },
  } as KubeObject;
}

const fromSecret = (secret: string, key: string): Record<string, unknown> => ({ name: key, valueFrom: { secretKeyRef: { name: secret, key } } });

export const dataPlaneVolumes = (): Record<string, unknown>[] => [
  { name: "source", emptyDir: {} },
  { name: "runner", configMap: { name: runnerConfigMapName(), defaultMode: 0o444 } },
];

const runnerMount = { name: "runner", mountPath: Paths.runner, readOnly: true };
const sourceMount = { name: "source", mountPath: Paths.source };

/** Where the runner leaves why it ran nothing (the container's termination message). */
const TERMINATION_LOG = "/dev/termination-log";

/**
 * The run container's command: the runner materializes the snapshot into the source directory,
 * then runs the user's argv there.
 */
export const runThroughRunner = (argv: readonly string[]): string[] =>
  runnerArgv("all", { script: SCRIPT, workdir: Paths.source, log: LOG_FILE, state: STATE_FILE, terminationLog: TERMINATION_LOG, killAfterSeconds: KILL_AFTER_SECONDS }, argv);

/** The runner's store URLs (from the attempt's Secret, never as values) and the snapshot to fetch. */
export const runContainerEnv = (secret: string, digest: string): Record<string, unknown>[] => [
  fromSecret(secret, RunnerEnv.snapshotUrl), fromSecret(secret, RunnerEnv.outputUrl), { name: RunnerEnv.snapshotDigest, value: digest },
];
export const runContainerMounts = [sourceMount, runnerMount];

