import type { RunConfigurationSpec } from "../../api/v1alpha1/index.js";
import { canonicalJson, sha256Hex } from "../shared/hash.js";

/**
 * Content hash of what an environment build depends on: the package lists, python version and
 * base image. Runs whose hash matches reuse the environment built before (Azure ML's behaviour of
 * setting a conda environment up once). Order of package lists is kept: it can matter to pip/conda.
 */
export function environmentHash(config: Pick<RunConfigurationSpec, "environment" | "docker">): string {
  const env = config.environment;
  const basis = env?.systemManaged
    ? { kind: "systemManaged", ...env.systemManaged, baseImage: config.docker?.baseImage ?? null }
    : { kind: "userManaged", interpreterPath: env?.userManaged?.interpreterPath ?? "python3", baseImage: config.docker?.baseImage ?? null };
  return sha256Hex(canonicalJson(basis)).slice(0, 16);
}
