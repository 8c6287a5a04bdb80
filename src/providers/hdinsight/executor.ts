import { RemoteVmExecutor, decodeRemoteVmHandle, type RemoteVmHandle, type SessionPool } from "../ssh/index.js";
import type { Attempt, ProviderContext, RunExecutor, RunObservation } from "../types.js";
import type { HdInsightConfig } from "./config.js";
import { asRemoteVmSubmission, asRemoteVmTarget } from "./remote-vm-view.js";

/**
 * Runs on the head node with spark-submit through the RemoteVM executor (detached launch keyed by
 * run UID + attempt, state files, process-group kill on cancel). The data-plane runner wraps
 * spark-submit there: it materializes the snapshot from the store into a fresh directory, which is
 * the driver's working directory (client mode), and uploads ./outputs and the log on any exit.
 */
export class HdInsightExecutor implements RunExecutor<RemoteVmHandle> {
  private readonly vm: RemoteVmExecutor;

  constructor(pool: SessionPool, private readonly config: HdInsightConfig) {
    this.vm = new RemoteVmExecutor({ pool });
  }

  decodeHandle(raw: unknown): RemoteVmHandle | undefined {
    return decodeRemoteVmHandle(raw);
  }

  async submit(a: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<RemoteVmHandle> {
    return this.vm.submit(asRemoteVmSubmission(a, this.config), ctx);
  }

  async observe(a: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<RunObservation<RemoteVmHandle>> {
    return this.vm.observe(asRemoteVmSubmission(a, this.config), ctx);
  }

  async cancel(a: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<void> {
    return this.vm.cancel(asRemoteVmSubmission(a, this.config), ctx);
  }

  async cleanup(a: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<void> {
    return this.vm.cleanup({ ...a, target: asRemoteVmTarget(a.target) }, ctx);
  }
}
