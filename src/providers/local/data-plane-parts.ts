/**
 * How a Local pod gets its snapshot and keeps its outputs:
 * - the runner script reaches pods through a ConfigMap per namespace named by the script's content
 *   hash (`aml-runner-<hash>`): immutable, shared by every run of the namespace, a new name when
 *   the operator ships a new runner (so a running pod never sees its script change);
 * - the attempt's SAS URLs live in a Secret owned by the TrainingRun (`<job>-store`), read through
 *   secretKeyRef: never in the Job spec, status, Events or logs;
 * - an init container (the run's image, python3's standard library) verifies the snapshot and
 *   writes it into the `source` emptyDir; the main container runs the command there through the
 *   runner, which uploads ./outputs, the log and result.json on exit and on SIGTERM.
 */
import type { KubeObject } from "../../kube/types.js";
import { Labels, MANAGED_BY_VALUE, type TrainingRun } from "../../api/v1alpha1/index.js";
import { runnerArgv, RunnerEnv, runnerScript, RUNNER_FILE } from "../../data-plane/runner/index.js";
import { Paths, restrictedContainerSecurity } from "./pod-parts.js";
import { ownerReferenceTo } from "./owner.js";

export const MATERIALIZE_CONTAINER = "materialize";
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

export function materializeContainer(o: { image: string; pullPolicy: string; secret: string; digest: string }): Record<string, unknown> {
  return {
    name: MATERIALIZE_CONTAINER, image: o.image, imagePullPolicy: o.pullPolicy,
    command: runnerArgv("materialize", { script: SCRIPT, workdir: Paths.source, state: STATE_FILE, terminationLog: "/dev/termination-log" }),
    env: [
      fromSecret(o.secret, RunnerEnv.snapshotUrl), fromSecret(o.secret, RunnerEnv.outputUrl),
      { name: RunnerEnv.snapshotDigest, value: o.digest },
    ],
    securityContext: restrictedContainerSecurity,
    volumeMounts: [sourceMount, runnerMount, { name: "tmp", mountPath: Paths.tmp }],
  };
}

/** The main container's command: the user's argv run through the runner in the snapshot directory. */
export const runThroughRunner = (argv: readonly string[]): string[] =>
  runnerArgv("run", { script: SCRIPT, workdir: Paths.source, log: LOG_FILE, state: STATE_FILE, killAfterSeconds: KILL_AFTER_SECONDS }, argv);

export const runContainerEnv = (secret: string): Record<string, unknown>[] => [fromSecret(secret, RunnerEnv.outputUrl)];
export const runContainerMounts = [sourceMount, runnerMount];
