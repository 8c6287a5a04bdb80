import type { LocalTargetSpec } from "../../api/v1alpha1/index.js";
import { CACHE_DIR, type EnvironmentCache } from "./host-path.js";
import { RUN_AS_UID } from "./local-spec.js";

/**
 * Mount points inside run and environment-build pods. `source` is an emptyDir the runner
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

/** The node directory the prepare-cache init container mounts (the whole hostPath). */
const CACHE_ROOT = "/aml/cache";

export function environmentCacheVolume(cache: EnvironmentCache): Record<string, unknown> {
  return cache.claimName
    ? { name: "envs", persistentVolumeClaim: { claimName: cache.claimName } }
    : { name: "envs", hostPath: { path: cache.hostPath, type: "DirectoryOrCreate" } };
}

/**
 * Where build (read-write) and run (read-only) containers see the cache: the whole claim, or the
 * namespace's own directory of a hostPath cache, so that one namespace's builds can never write
 * into the environments another namespace's runs execute.
 */
export function environmentCacheMount(cache: EnvironmentCache, namespace: string, readOnly: boolean): Record<string, unknown> {
  return {
    name: "envs", mountPath: Paths.envs,
    ...(cache.hostPath ? { subPath: `${CACHE_DIR}/${namespace}` } : {}),
    ...(readOnly ? { readOnly: true } : {}),
  };
}

/**
 * A hostPath cache is a node directory the kubelet creates root-owned. This step creates
 * `<hostPath>/aml-envs/<namespace>` and hands to the run uid only a directory that its own mkdir
 * created: it never changes the owner of anything that already existed (the hostPath itself, or a
 * directory someone else made), and refuses symlinks. A PVC gets write access through fsGroup.
 */
export const PREPARE_CACHE_SCRIPT = `set -eu
cd "$1"
top=${CACHE_DIR}
dir="$top/$AML_NAMESPACE"
refuse() { echo "environment cache: $1; the operator takes ownership only of directories it creates" >&2; exit 1; }
[ -L "$top" ] && refuse "$top is a symlink"
[ -d "$top" ] || mkdir -m 0755 "$top"
[ "$(stat -c %u "$top")" = 0 ] || refuse "$top is not owned by root"
[ -L "$dir" ] && refuse "$dir is a symlink"
if mkdir -m 0755 "$dir" 2>/dev/null; then chown -h ${RUN_AS_UID}:${RUN_AS_UID} "$dir"; fi
[ "$(stat -c %u:%g "$dir")" = ${RUN_AS_UID}:${RUN_AS_UID} ] || refuse "$dir exists and is not owned by ${RUN_AS_UID}:${RUN_AS_UID}"
`;

export const PREPARE_CACHE_CONTAINER = "prepare-cache";

export function cacheOwnershipInit(cache: EnvironmentCache, namespace: string, image: string, pullPolicy: string): Record<string, unknown>[] {
  if (!cache.hostPath) return [];
  return [{
    name: PREPARE_CACHE_CONTAINER, image, imagePullPolicy: pullPolicy,
    command: ["/bin/sh", "-c", PREPARE_CACHE_SCRIPT, PREPARE_CACHE_CONTAINER, CACHE_ROOT],
    env: [{ name: "AML_NAMESPACE", value: namespace }],
    // The script's stderr is the pod's termination message, which the run's condition shows.
    terminationMessagePolicy: "FallbackToLogsOnError",
    securityContext: { runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["CHOWN"] }, seccompProfile: { type: "RuntimeDefault" } },
    volumeMounts: [{ name: "envs", mountPath: CACHE_ROOT }],
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
