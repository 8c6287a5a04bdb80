import type { ComputeTarget, HdInsightTargetSpec } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { renderCommand } from "../shared/shell-quote.js";
import { RemoteVmProvider, resolveConnectionSettings, type SessionPool } from "../ssh/index.js";
import type { ComputeProvider, ProviderContext, TargetObservation } from "../types.js";
import type { HdInsightConfig } from "./config.js";
import type { HdInsightRegistration } from "./registration.js";
import { asRemoteVmTarget, hdInsightSpecOf } from "./remote-vm-view.js";

/**
 * Attach = the RemoteVM probe of the head node (host key pinned, credentials, writable workDir)
 * plus a check that spark-submit answers there. Nothing on the cluster is created or deleted.
 * With hdInsight.workspace (and resourceId) the cluster is also registered as an attached compute
 * in that Azure ML workspace (HdInsightRegistration); Ready needs both the probe and the
 * registration, and release() detaches the registration.
 */
export class HdInsightProvider implements ComputeProvider {
  private readonly vm: RemoteVmProvider;

  constructor(private readonly pool: SessionPool, private readonly config: HdInsightConfig, private readonly registration?: HdInsightRegistration) {
    this.vm = new RemoteVmProvider({ pool, probeIntervalMs: config.probeIntervalMs });
  }

  async ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation> {
    const spec = hdInsightSpecOf(target);
    const obs = await this.probe(target, spec, ctx);
    // The workspace registration follows a good probe; an operation in flight stays in status.
    if (!spec.workspace || obs.ready.status !== "True") return obs;
    if (!this.registration) {
      return { ready: { status: "False", reason: TargetReason.ProviderNotAvailable, severity: "Error", message: "hdInsight.workspace is set but the operator has no Azure settings to register the cluster in a workspace" }, status: obs.status };
    }
    const reg = await this.registration.ensure(target, spec, ctx);
    const requeue = [obs.requeueAfterMs, reg.requeueAfterMs].filter((n): n is number => n !== undefined);
    return {
      ready: reg.ready.status === "True"
        ? { ...obs.ready, message: `${obs.ready.message}; ${reg.ready.message}` }
        : { ...reg.ready, message: `head node ready, but ${reg.ready.message}` },
      status: { ...obs.status, ...reg.status },
      ...(requeue.length ? { requeueAfterMs: Math.min(...requeue) } : {}),
    };
  }

  /** The SSH side: the head node answers, and spark-submit works there. */
  private async probe(target: ComputeTarget, spec: HdInsightTargetSpec, ctx: ProviderContext): Promise<TargetObservation> {
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
      // With a workspace, status.resourceId is the workspace compute's id (from the registration).
      status: { ...obs.status, ...(spec.resourceId && !spec.workspace ? { resourceId: spec.resourceId } : {}) },
    };
  }

  /** Detach only: the cluster is never touched; a workspace registration is detached in ARM. */
  async release(target: ComputeTarget, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number; status?: TargetObservation["status"] }> {
    const spec = target.spec.hdInsight;
    if (!spec?.workspace || !this.registration) return { done: true };
    return this.registration.release(target, spec, ctx);
  }
}
