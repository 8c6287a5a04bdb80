import type { ProviderEntry } from "../types.js";
import { firstProblem } from "../shared/validate.js";
import { localComputeProvider } from "./compute-provider.js";
import { localDistributionProblem } from "./distribution.js";
import { localRunExecutor } from "./run-executor.js";

/** The registry entry for `type: Local`: runs are Jobs in the target's namespace. */
export function createLocalProvider(): ProviderEntry {
  return {
    compute: localComputeProvider,
    executor: localRunExecutor,
    validate: firstProblem(
      (config) => config.docker?.arguments?.length
        ? "docker.arguments are for RemoteVM targets; Local runs are pods (use resources and environmentVariables)" : undefined,
      localDistributionProblem,
    ),
  };
}
