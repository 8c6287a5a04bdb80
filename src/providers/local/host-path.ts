/**
 * Which node directories a Local target may use as its environment cache. A ComputeTarget is a
 * namespaced object: whoever may create one must not be able to mount (let alone take ownership
 * of) an arbitrary node directory. Only paths under prefixes the operator's administrator allows
 * (LOCAL_ALLOWED_HOST_PATH_PREFIXES, the chart's localTargets.allowedHostPathPrefixes) pass.
 */
import { posix } from "node:path";
import { RunConfigReason, TargetReason, type LocalTargetSpec } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";

/** Operator-level settings of the Local provider. */
export interface LocalTargetsConfig {
  /** Node directories under which `local.environmentCache.hostPath` may point; empty refuses every hostPath. */
  readonly allowedHostPathPrefixes: readonly string[];
}

/**
 * The directory the operator creates inside a hostPath cache; each namespace gets its own below it
 * (`<hostPath>/aml-envs/<namespace>`), the only directories that run users may write to. No allowed
 * hostPath may pass through one, so a symlink planted there by a build can never become a mount.
 */
export const CACHE_DIR = "aml-envs";

const isNormalAbsolute = (path: string): boolean =>
  path.startsWith("/") && path.length > 1 && posix.normalize(path) === path && !path.endsWith("/");

/**
 * LOCAL_ALLOWED_HOST_PATH_PREFIXES: comma-separated absolute paths. `/` is refused: it would allow
 * every node directory, which is exactly what the list exists to prevent.
 */
export function localTargetsConfigFromEnv(env: NodeJS.ProcessEnv): LocalTargetsConfig {
  const raw = env.LOCAL_ALLOWED_HOST_PATH_PREFIXES ?? "";
  const prefixes = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  for (const prefix of prefixes) {
    if (!isNormalAbsolute(prefix)) {
      throw new Error(`LOCAL_ALLOWED_HOST_PATH_PREFIXES: "${prefix}" must be a normalized absolute path other than / (no trailing slash, no . or .. segments)`);
    }
  }
  return { allowedHostPathPrefixes: prefixes };
}

/** Why `hostPath` may not be used, or undefined when it lies under an allowed prefix. */
export function hostPathProblem(hostPath: string, config: LocalTargetsConfig): string | undefined {
  if (!isNormalAbsolute(hostPath)) return `hostPath ${JSON.stringify(hostPath)} is not a normalized absolute path`;
  if (hostPath.split("/").includes(CACHE_DIR)) {
    return `hostPath ${hostPath} lies inside another cache's ${CACHE_DIR} directory, which run users can write to`;
  }
  const allowed = config.allowedHostPathPrefixes;
  if (allowed.some((prefix) => hostPath === prefix || hostPath.startsWith(`${prefix}/`))) return undefined;
  return allowed.length === 0
    ? `hostPath ${hostPath} is not allowed: the operator allows no node directories (an administrator sets localTargets.allowedHostPathPrefixes); use environmentCache.claimName`
    : `hostPath ${hostPath} is not under an allowed prefix (${allowed.join(", ")}); use one of them or environmentCache.claimName`;
}

export type EnvironmentCache = NonNullable<LocalTargetSpec["environmentCache"]>;

/**
 * The target's environment cache when pods may mount it: a claim, or a hostPath the operator
 * allows. Throws TerminalError(HostPathNotAllowed) otherwise, and UnsupportedOnTarget when the
 * target has no cache at all.
 */
export function usableEnvironmentCache(local: LocalTargetSpec, config: LocalTargetsConfig): EnvironmentCache {
  const cache = local.environmentCache;
  if (!cache) throw new TerminalError(NO_CACHE, RunConfigReason.UnsupportedOnTarget);
  const problem = cache.hostPath !== undefined ? hostPathProblem(cache.hostPath, config) : undefined;
  if (problem) throw new TerminalError(problem, TargetReason.HostPathNotAllowed);
  return cache;
}

export const NO_CACHE =
  "a system-managed environment needs local.environmentCache on the target (a PersistentVolumeClaim, or a hostPath the operator allows); use a userManaged environment otherwise";
