import type { ComputeTarget, RunConfigurationSpec } from "../../api/v1alpha1/index.js";
import { canonicalJson, sha256Hex } from "../shared/hash.js";

/**
 * Content hash of what an environment build depends on: the package lists, python version and
 * base image. Runs whose hash matches reuse the environment built before (Azure ML's behaviour of
 * setting a conda environment up once). Order of package lists is kept: it can matter to pip/conda.
 * With the target, its image and environment cache count too: an environment is built with one
 * image into one cache, so targets that differ there never share a build (or its failure).
 */
export function environmentHash(config: Pick<RunConfigurationSpec, "environment" | "docker">, target?: ComputeTarget): string {
  const env = config.environment;
  const basis = env?.systemManaged
    ? { kind: "systemManaged", ...env.systemManaged, baseImage: config.docker?.baseImage ?? null }
    : { kind: "userManaged", interpreterPath: env?.userManaged?.interpreterPath ?? "python3", baseImage: config.docker?.baseImage ?? null };
  const local = target?.spec.local;
  const where = local ? { targetImage: local.image ?? null, cache: local.environmentCache ?? null } : {};
  return sha256Hex(canonicalJson({ ...basis, ...where })).slice(0, 16);
}
