import type { ComputeTarget, TrainingRun } from "../../api/v1alpha1/index.js";
import { RemoteVmExecutor, type SessionPool } from "../ssh/index.js";
import type { ExecutionHandle, ProviderContext, RunExecutor, RunObservation, RunSubmission } from "../types.js";
import type { HdInsightConfig } from "./config.js";
import { asRemoteVmSubmission, asRemoteVmTarget } from "./remote-vm-view.js";

/**
 * Runs on the head node with spark-submit through the RemoteVM executor (snapshot over SFTP,
 * detached launch keyed by run UID + attempt, state files, process-group kill on cancel).
 */
export class HdInsightExecutor implements RunExecutor {
  private readonly vm: RemoteVmExecutor;

  constructor(pool: SessionPool, private readonly config: HdInsightConfig) {
    this.vm = new RemoteVmExecutor({ pool });
  }

  async submit(sub: RunSubmission, ctx: ProviderContext): Promise<ExecutionHandle> {
    return this.vm.submit(asRemoteVmSubmission(sub, this.config), ctx);
  }

  async observe(sub: RunSubmission, handle: ExecutionHandle, ctx: ProviderContext): Promise<RunObservation> {
    return this.vm.observe(asRemoteVmSubmission(sub, this.config), handle, ctx);
  }

  async cancel(sub: RunSubmission, handle: ExecutionHandle, ctx: ProviderContext): Promise<void> {
    return this.vm.cancel(asRemoteVmSubmission(sub, this.config), handle, ctx);
  }

  async cleanup(run: TrainingRun, target: ComputeTarget | undefined, handle: ExecutionHandle | undefined, ctx: ProviderContext): Promise<void> {
    return this.vm.cleanup(run, target ? asRemoteVmTarget(target) : undefined, handle, ctx);
  }
}
