import { createHash } from "node:crypto";
import { Labels } from "../../api/v1alpha1/index.js";
import type { KubeObject } from "../../kube/types.js";
import type { Attempt } from "../types.js";
import {
  attemptSecretName, dataPlaneVolumes, materializeContainer, runContainerEnv, runContainerMounts, runThroughRunner,
  TERMINATION_GRACE_SECONDS,
} from "./data-plane-parts.js";
import { ownerReferenceTo } from "./owner.js";
import { isSystemManaged, localSpecOf } from "./local-spec.js";
import {
  baseLabels, basePodSpec, cacheOwnershipInit, environmentCacheVolume, Paths, restrictedContainerSecurity,
  scratchMounts, scratchVolumes,
} from "./pod-parts.js";

export const TRAIN_CONTAINER = "train";

/** Deterministic per run UID + attempt, ≤ 63 chars (it becomes the job-name label of its pods). */
export function runJobName(runName: string, runUid: string, attempt: number): string {
  const suffix = `-${createHash("sha256").update(runUid).digest("hex").slice(0, 5)}-${attempt}`;
  return `${runName.slice(0, 63 - suffix.length).replace(/[-.]+$/, "")}${suffix}`;
}

export function interpreterFor(sub: Attempt): string {
  if (isSystemManaged(sub.config)) return `${Paths.envs}/${sub.environmentHash}/bin/python`;
  return sub.config.environment?.userManaged?.interpreterPath ?? "python3";
}

function environmentVariables(sub: Attempt): Record<string, unknown>[] {
  const processes = sub.config.nodeCount * sub.config.processCountPerNode;
  const fixed: Record<string, string> = {
    HOME: Paths.tmp,
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    AML_RUN_ID: sub.runId,
    AML_EXPERIMENT_NAME: sub.run.spec.experimentName,
    AML_ATTEMPT: String(sub.number),
    AML_OUTPUT_DIR: `${Paths.source}/outputs`,
    AML_SNAPSHOT_DIGEST: sub.snapshot.digest,
    NODE_COUNT: String(sub.config.nodeCount),
    WORLD_SIZE: String(processes),
  };
  const user = sub.config.environmentVariables ?? {};
  const env: Record<string, unknown>[] = Object.entries({ ...user, ...fixed }).map(([name, value]) => ({ name, value }));
  if (sub.config.nodeCount > 1) {
    env.push({ name: "NODE_RANK", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } });
  }
  return env;
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
 * The batch/v1 Job of one attempt: an Indexed Job when nodeCount > 1; retries are our attempts.
 * An init container materializes the verified snapshot into the `source` emptyDir; the command
 * runs there through the runner, which keeps ./outputs and the log in the store.
 */
export function buildRunJob(sub: Attempt): KubeObject {
  const local = localSpecOf(sub.target);
  const image = sub.config.docker?.baseImage ?? local.image;
  const name = runJobName(sub.run.metadata.name ?? "", sub.run.metadata.uid ?? "", sub.number);
  const labels = baseLabels({
    [Labels.run]: sub.run.metadata.name ?? "", [Labels.runUid]: sub.run.metadata.uid ?? "",
    [Labels.attempt]: String(sub.number), [Labels.role]: "run",
  });
  const argv = sub.interpreterNeeded ? [interpreterFor(sub), ...sub.argv] : [...sub.argv];
  const secret = attemptSecretName(name);
  const systemManaged = isSystemManaged(sub.config);
  const deadline = sub.config.maxRunDurationSeconds ?? sub.run.spec.activeDeadlineSeconds;
  return {
    apiVersion: "batch/v1", kind: "Job",
    metadata: { name, namespace: sub.run.metadata.namespace, labels, ownerReferences: [ownerReferenceTo(sub.run)] },
    spec: {
      backoffLimit: 0,
      completions: sub.config.nodeCount,
      parallelism: sub.config.nodeCount,
      ...(sub.config.nodeCount > 1 ? { completionMode: "Indexed" } : {}),
      ...(deadline ? { activeDeadlineSeconds: deadline } : {}),
      template: {
        metadata: { labels },
        spec: {
          ...basePodSpec(local),
          // The pause container becomes PID 1, so the script gets SIGTERM's default action on
          // cancel instead of being ignored as PID 1 and killed only after the grace period.
          shareProcessNamespace: true,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          ...(local.nodeSelector ? { nodeSelector: local.nodeSelector } : {}),
          ...(local.priorityClassName ? { priorityClassName: local.priorityClassName } : {}),
          initContainers: [materializeContainer({ image, pullPolicy: local.imagePullPolicy, secret, digest: sub.snapshot.digest })],
          containers: [{
            name: TRAIN_CONTAINER, image, imagePullPolicy: local.imagePullPolicy,
            command: runThroughRunner(argv), workingDir: Paths.source,
            env: [...environmentVariables(sub), ...runContainerEnv(secret)],
            ...(resources(sub) ? { resources: resources(sub) } : {}),
            securityContext: restrictedContainerSecurity,
            volumeMounts: [
              ...runContainerMounts,
              ...scratchMounts,
              ...(systemManaged ? [{ name: "envs", mountPath: Paths.envs, readOnly: true }] : []),
              ...(sub.config.docker?.shmSize ? [{ name: "dshm", mountPath: "/dev/shm" }] : []),
            ],
          }],
          volumes: [
            ...dataPlaneVolumes(),
            ...scratchVolumes,
            ...(systemManaged ? [environmentCacheVolume(local)] : []),
            ...(sub.config.docker?.shmSize ? [{ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: sub.config.docker.shmSize } }] : []),
          ],
        },
      },
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
  const image = sub.config.docker?.baseImage ?? local.image;
  const packages = sub.config.environment?.systemManaged?.pipPackages ?? [];
  const labels = baseLabels({ [Labels.envHash]: sub.environmentHash, [Labels.role]: "environment-build" });
  return {
    apiVersion: "batch/v1", kind: "Job",
    metadata: { name: envBuildJobName(sub.environmentHash), namespace: sub.run.metadata.namespace, labels },
    spec: {
      backoffLimit: 1,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels },
        spec: {
          ...basePodSpec(local),
          initContainers: cacheOwnershipInit(local, image),
          containers: [{
            name: "build", image, imagePullPolicy: local.imagePullPolicy,
            command: ["/bin/sh", "-c", ENV_BUILD_SCRIPT, "build-environment", ...packages],
            env: [{ name: "AML_ENV_HASH", value: sub.environmentHash }, { name: "HOME", value: Paths.tmp }],
            securityContext: restrictedContainerSecurity,
            volumeMounts: [{ name: "envs", mountPath: Paths.envs }, ...scratchMounts],
          }],
          volumes: [environmentCacheVolume(local), ...scratchVolumes],
        },
      },
    },
  };
}
