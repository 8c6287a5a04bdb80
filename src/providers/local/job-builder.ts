import { createHash } from "node:crypto";
import { Annotations, Labels, RunConfigReason, runLabelValue } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { KubeObject } from "../../kube/types.js";
import type { Attempt } from "../types.js";
import {
  attemptSecretName, dataPlaneVolumes, runContainerEnv, runContainerMounts, runThroughRunner,
  TERMINATION_GRACE_SECONDS,
} from "./data-plane-parts.js";
import { distributionEnv, fitName, JOB_NAME_MAX, layoutOf, MASTER_PORT, needsLauncher, type Layout } from "./distribution.js";
import { NO_CACHE } from "./host-path.js";
import { launchedArgv } from "./launcher.js";
import { ownerReferenceTo } from "./owner.js";
import { isSystemManaged, localSpecOf } from "./local-spec.js";
import {
  baseLabels, basePodSpec, cacheOwnershipInit, environmentCacheMount, environmentCacheVolume, Paths, restrictedContainerSecurity,
  scratchMounts, scratchVolumes,
} from "./pod-parts.js";

export const TRAIN_CONTAINER = "train";

/**
 * Deterministic per run UID + attempt. A DNS label short enough that its pods' host names
 * `<job>-<index>` are DNS labels too (the Job controller names Indexed pods' hosts that way).
 */
export function runJobName(runName: string, runUid: string, attempt: number): string {
  const suffix = `-${createHash("sha256").update(runUid).digest("hex").slice(0, 5)}-${attempt}`;
  return fitName(runName, suffix, JOB_NAME_MAX);
}

/** The objects' names of one attempt, and where its ranks find each other. */
export const layoutOfAttempt = (sub: Attempt): Layout =>
  layoutOf(sub.config, runJobName(sub.run.metadata.name ?? "", sub.run.metadata.uid ?? "", sub.number));

/** Pod labels that pick out one attempt's run pods (the headless Service selects on them). */
const attemptPodLabels = (sub: Attempt): Record<string, string> => ({
  [Labels.runUid]: sub.run.metadata.uid ?? "", [Labels.attempt]: String(sub.number), [Labels.role]: "run",
});

export function interpreterFor(sub: Attempt): string {
  if (isSystemManaged(sub.config)) return `${Paths.envs}/${sub.environmentHash}/bin/python`;
  return sub.config.environment?.userManaged?.interpreterPath ?? "python3";
}

function environmentVariables(sub: Attempt, layout: Layout): Record<string, unknown>[] {
  const fixed: Record<string, string> = {
    HOME: Paths.tmp,
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    AML_RUN_ID: sub.runId,
    AML_EXPERIMENT_NAME: sub.run.spec.experimentName,
    AML_ATTEMPT: String(sub.number),
    AML_OUTPUT_DIR: `${Paths.source}/outputs`,
    AML_SNAPSHOT_DIGEST: sub.snapshot.digest,
  };
  // The rank variables win over user variables of the same name: they describe this attempt.
  // User variables come last, so their values may say $(RANK), $(NODE_RANK)...
  const rank = distributionEnv(layout);
  const taken = new Set([...Object.keys(fixed), ...rank.map((e) => e.name)]);
  const user = Object.entries(sub.config.environmentVariables ?? {}).filter(([name]) => !taken.has(name));
  return [...Object.entries(fixed).map(([name, value]) => ({ name, value })), ...rank, ...user.map(([name, value]) => ({ name, value }))];
}

function resources(sub: Attempt): Record<string, unknown> | undefined {
  const r = sub.config.resources;
  if (!r) return undefined;
  const limits: Record<string, string | number> = {};
  if (r.cpu !== undefined) limits.cpu = r.cpu;
  if (r.memory !== undefined) limits.memory = r.memory;
  if (r.gpu) limits["nvidia.com/gpu"] = r.gpu;
  const requests = Object.fromEntries(Object.entries(limits).filter(([k]) => k !== "nvidia.com/gpu"));
  return { limits, requests };
}

/**
 * The batch/v1 Job of one attempt: an Indexed Job when nodeCount > 1, all ranks created at once
 * (parallelism = completions). backoffLimit 0: the first failed rank fails the Job and the Job
 * controller stops the other ranks; retries are our attempts, never a lone restarted rank.
 * The runner materializes the verified snapshot into the `source` emptyDir, then runs the command
 * there and keeps ./outputs and the log in the store.
 */
export function buildRunJob(sub: Attempt): KubeObject {
  const local = localSpecOf(sub.target);
  const image = sub.config.docker?.baseImage ?? local.image;
  const layout = layoutOfAttempt(sub);
  const name = layout.jobName;
  const labels = baseLabels({ [Labels.run]: runLabelValue(sub.run.metadata.name ?? ""), ...attemptPodLabels(sub) });
  const annotations = { [Annotations.run]: sub.run.metadata.name ?? "" };
  const script = sub.interpreterNeeded ? [interpreterFor(sub), ...sub.argv] : [...sub.argv];
  // Several slots per pod: the runner runs the launcher, which starts one process per slot.
  const argv = needsLauncher(layout) ? launchedArgv(interpreterFor(sub), script) : script;
  const secret = attemptSecretName(name);
  // validate() refuses a system-managed environment on a target without a cache.
  const cache = isSystemManaged(sub.config) ? local.environmentCache : undefined;
  const namespace = sub.run.metadata.namespace ?? "";
  const deadline = sub.config.maxRunDurationSeconds ?? sub.run.spec.activeDeadlineSeconds;
  return {
    apiVersion: "batch/v1", kind: "Job",
    metadata: { name, namespace, labels, annotations, ownerReferences: [ownerReferenceTo(sub.run)] },
    spec: {
      backoffLimit: 0,
      completions: sub.config.nodeCount,
      parallelism: sub.config.nodeCount,
      ...(sub.config.nodeCount > 1 ? { completionMode: "Indexed" } : {}),
      ...(deadline ? { activeDeadlineSeconds: deadline } : {}),
      template: {
        metadata: { labels, annotations },
        spec: {
          ...basePodSpec(local),
          // The pause container becomes PID 1, so the script gets SIGTERM's default action on
          // cancel instead of being ignored as PID 1 and killed only after the grace period.
          shareProcessNamespace: true,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          // Stable names `<job>-<index>.<service>` through the attempt's headless Service.
          ...(layout.serviceName ? { subdomain: layout.serviceName } : {}),
          ...(local.nodeSelector ? { nodeSelector: local.nodeSelector } : {}),
          ...(local.priorityClassName ? { priorityClassName: local.priorityClassName } : {}),
          containers: [{
            name: TRAIN_CONTAINER, image, imagePullPolicy: local.imagePullPolicy,
            command: runThroughRunner(argv), workingDir: Paths.source,
            env: [...environmentVariables(sub, layout), ...runContainerEnv(secret, sub.snapshot.digest)],
            ...(resources(sub) ? { resources: resources(sub) } : {}),
            securityContext: restrictedContainerSecurity,
            volumeMounts: [
              ...runContainerMounts,
              ...scratchMounts,
              ...(cache ? [environmentCacheMount(cache, namespace, true)] : []),
              ...(sub.config.docker?.shmSize ? [{ name: "dshm", mountPath: "/dev/shm" }] : []),
            ],
          }],
          volumes: [
            ...dataPlaneVolumes(),
            ...scratchVolumes,
            ...(cache ? [environmentCacheVolume(cache)] : []),
            ...(sub.config.docker?.shmSize ? [{ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: sub.config.docker.shmSize } }] : []),
          ],
        },
      },
    },
  };
}

/**
 * The headless Service of a multi-node attempt: it publishes every rank's address (ready or not,
 * so rank 0's name resolves before its process listens) under `<job>-<index>.<service>`. Owned
 * by the run; the executor deletes it when the attempt ends.
 */
export function buildHeadlessService(sub: Attempt, layout: Layout): KubeObject | undefined {
  if (!layout.serviceName) return undefined;
  return {
    apiVersion: "v1", kind: "Service",
    metadata: {
      name: layout.serviceName, namespace: sub.run.metadata.namespace,
      labels: baseLabels({ [Labels.run]: runLabelValue(sub.run.metadata.name ?? ""), ...attemptPodLabels(sub) }),
      ownerReferences: [ownerReferenceTo(sub.run)],
    },
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: attemptPodLabels(sub),
      ports: [{ name: "rendezvous", port: MASTER_PORT, protocol: "TCP" }],
    },
  };
}

/** Builds one system-managed environment into the cache, once per hash; later runs reuse it. */
const ENV_BUILD_SCRIPT = `set -eu
dir="${Paths.envs}/$AML_ENV_HASH"
if [ -f "$dir/.ready" ]; then echo "environment $AML_ENV_HASH is already built; reusing it"; exit 0; fi
tmp="$dir.tmp.$$"
rm -rf "$tmp"
echo "building environment $AML_ENV_HASH"
python3 -m venv "$tmp"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi
if [ "$#" -gt 0 ]; then "$tmp/bin/python" -m pip install --no-input --disable-pip-version-check -- "$@"; fi
date -u +%Y-%m-%dT%H:%M:%SZ > "$tmp/.ready"
mv -T "$tmp" "$dir" 2>/dev/null || { rm -rf "$tmp"; echo "another build finished first"; }
echo "environment $AML_ENV_HASH ready"
`;

export const envBuildJobName = (hash: string): string => `aml-env-${hash}`;

/** The environment-build Job (shared by every run with the same hash in the namespace). */
export function buildEnvironmentJob(sub: Attempt): KubeObject {
  const local = localSpecOf(sub.target);
  const cache = local.environmentCache;
  if (!cache) throw new TerminalError(NO_CACHE, RunConfigReason.UnsupportedOnTarget);
  const namespace = sub.run.metadata.namespace ?? "";
  const image = sub.config.docker?.baseImage ?? local.image;
  const packages = sub.config.environment?.systemManaged?.pipPackages ?? [];
  const labels = baseLabels({ [Labels.envHash]: sub.environmentHash, [Labels.role]: "environment-build" });
  return {
    apiVersion: "batch/v1", kind: "Job",
    metadata: { name: envBuildJobName(sub.environmentHash), namespace, labels },
    spec: {
      backoffLimit: 1,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          ...basePodSpec(local),
          initContainers: cacheOwnershipInit(cache, namespace, image, local.imagePullPolicy),
          containers: [{
            name: "build", image, imagePullPolicy: local.imagePullPolicy,
            command: ["/bin/sh", "-c", ENV_BUILD_SCRIPT, "build-environment", ...packages],
            env: [{ name: "AML_ENV_HASH", value: sub.environmentHash }, { name: "HOME", value: Paths.tmp }],
            securityContext: restrictedContainerSecurity,
            volumeMounts: [environmentCacheMount(cache, namespace, false), ...scratchMounts],
          }],
          volumes: [environmentCacheVolume(cache), ...scratchVolumes],
        },
      },
    },
  };
}
