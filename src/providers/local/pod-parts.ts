import type { LocalTargetSpec } from "../../api/v1alpha1/index.js";
import { RUN_AS_UID } from "./local-spec.js";

/**
 * Mount points inside run and environment-build pods. `source` is an emptyDir the init container
 * fills with the verified snapshot: the script's writable working directory, nothing else in it.
 */
export const Paths = { source: "/aml/source", envs: "/aml/envs", runner: "/aml/runner", tmp: "/tmp" } as const;

/** Restricted Pod Security profile: non-root, no privilege escalation, no capabilities, RO root. */
export const restrictedContainerSecurity = {
  runAsNonRoot: true,
  runAsUser: RUN_AS_UID,
  runAsGroup: RUN_AS_UID,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export const podSecurity = { fsGroup: RUN_AS_UID, seccompProfile: { type: "RuntimeDefault" } };

/** What every operator-made pod shares: run once, no service links, no API token, restricted. */
export function basePodSpec(local: LocalTargetSpec): Record<string, unknown> {
  return {
    restartPolicy: "Never",
    enableServiceLinks: false,
    automountServiceAccountToken: false,
    securityContext: podSecurity,
    ...(local.serviceAccountName ? { serviceAccountName: local.serviceAccountName } : {}),
  };
}

export function environmentCacheVolume(local: LocalTargetSpec): Record<string, unknown> {
  const cache = local.environmentCache;
  return cache.claimName
    ? { name: "envs", persistentVolumeClaim: { claimName: cache.claimName } }
    : { name: "envs", hostPath: { path: cache.hostPath, type: "DirectoryOrCreate" } };
}

/**
 * A hostPath directory is created root-owned by the kubelet; this init step hands it to the run uid
 * so builds need no root. PVCs get the same through fsGroup, so they skip it.
 */
export function cacheOwnershipInit(local: LocalTargetSpec, image: string): Record<string, unknown>[] {
  if (!local.environmentCache.hostPath) return [];
  return [{
    name: "prepare-cache", image, imagePullPolicy: local.imagePullPolicy,
    command: ["install", "-d", "-o", String(RUN_AS_UID), "-g", String(RUN_AS_UID), Paths.envs],
    securityContext: { runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["CHOWN"] } },
    volumeMounts: [{ name: "envs", mountPath: Paths.envs }],
  }];
}

export const baseLabels = (extra: Record<string, string>): Record<string, string> => ({
  "app.kubernetes.io/managed-by": "aml-compute-operator",
  ...extra,
});

export const scratchVolumes = [
  { name: "tmp", emptyDir: {} },
];
export const scratchMounts = [
  { name: "tmp", mountPath: Paths.tmp },
];
