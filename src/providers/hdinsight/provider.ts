import type { ComputeTarget } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { RemoteVmProvider, renderCommand, resolveConnectionSettings, type SessionPool } from "../ssh/index.js";
import type { ComputeProvider, ProviderContext, TargetObservation } from "../types.js";
import type { HdInsightConfig } from "./config.js";
import { asRemoteVmTarget, hdInsightSpecOf } from "./remote-vm-view.js";

/**
 * Attach = the RemoteVM probe of the head node (host key pinned, credentials, writable workDir)
 * plus a check that spark-submit answers there. Nothing on the cluster is created or deleted.
 */
export class HdInsightProvider implements ComputeProvider {
  private readonly vm: RemoteVmProvider;

  constructor(private readonly pool: SessionPool, private readonly config: HdInsightConfig) {
    this.vm = new RemoteVmProvider({ pool, probeIntervalMs: config.probeIntervalMs });
  }

  async ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation> {
    const spec = hdInsightSpecOf(target);
    const obs = await this.vm.ensure(asRemoteVmTarget(target), ctx);
    if (obs.ready.status !== "True") return obs;
    const settings = await resolveConnectionSettings(spec, target.metadata.namespace ?? "default", ctx);
    const sparkSubmit = this.config.sparkSubmit ?? "spark-submit";
    const res = await this.pool.with(settings, (s) => s.exec(`${renderCommand(["bash", "-lc", 'command -v -- "$1" && "$1" --version 2>&1 | grep -m1 -o "version [0-9.]*"', "probe", sparkSubmit])}`, { timeoutMs: 60_000 }));
    const version = /version ([0-9.]+)/.exec(res.stdout)?.[1];
    if (res.code !== 0 || !version) {
      return { ready: { status: "False", reason: TargetReason.InvalidSpec, severity: "Error", message: `${settings.label}: ${sparkSubmit} not found or not working on the head node: ${(res.stderr || res.stdout).trim().slice(-300)}` }, status: obs.status };
    }
    return {
      ...obs,
      ready: { ...obs.ready, reason: TargetReason.Attached, message: `${obs.ready.message}; Spark ${version}${spec.resourceId ? `; cluster ${spec.resourceId.split("/").pop()}` : ""}` },
      status: { ...obs.status, ...(spec.resourceId ? { resourceId: spec.resourceId } : {}) },
    };
  }

  async release(_target: ComputeTarget, _ctx: ProviderContext): Promise<{ done: boolean }> {
    return { done: true }; // detach only
  }
}

