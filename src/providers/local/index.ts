import type { ProviderEntry } from "../types.js";
import { firstProblem } from "../shared/validate.js";
import { localComputeProvider } from "./compute-provider.js";
import { localDistributionProblem } from "./distribution.js";
import { NO_CACHE, type LocalTargetsConfig } from "./host-path.js";
import { isSystemManaged, localSpecOf } from "./local-spec.js";
import { localRunExecutor } from "./run-executor.js";

const NO_HOST_PATHS: LocalTargetsConfig = { allowedHostPathPrefixes: [] };

/** The registry entry for `type: Local`: runs are Jobs in the target's namespace. */
export function createLocalProvider(config: LocalTargetsConfig = NO_HOST_PATHS): ProviderEntry {
  return {
    compute: localComputeProvider(config),
    executor: localRunExecutor(config),
    validate: firstProblem(
      (config) => config.docker?.arguments?.length
        ? "docker.arguments are for RemoteVM targets; Local runs are pods (use resources and environmentVariables)" : undefined,
      (config, target) => isSystemManaged(config) && !localSpecOf(target).environmentCache ? NO_CACHE : undefined,
      localDistributionProblem,
    ),
  };
}
