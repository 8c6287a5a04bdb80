import type { ComputeTarget, ComputeTargetStatus, Reason } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ComputeProvider, ProviderContext, TargetObservation } from "../types.js";
import { remoteVmSpecOf, resolveConnectionSettings, workDirOf } from "./connection-settings.js";
import { allValues, runControl } from "./remote-control.js";
import type { SessionPool } from "./session-pool.js";
import { reasonOf, SshUnreachableError } from "./ssh-errors.js";

export interface RemoteVmProviderDeps {
  readonly pool: SessionPool;
  /** Re-probe a Ready VM this often (capabilities and running runs drift). Default 5 min. */
  readonly probeIntervalMs?: number;
  /** Retry an unreachable VM after this long. Default 30 s. */
  readonly unreachableRetryMs?: number;
}

type Capabilities = NonNullable<ComputeTargetStatus["capabilities"]>;

function capabilitiesOf(raw: string, fields: Readonly<Record<string, string>>): Capabilities {
  const caps: Capabilities = {
    os: fields.distro ? `${fields.distro} (${fields.os ?? ""})` : fields.os,
    pythonVersions: [...new Set(allValues(raw, "python"))],
    docker: fields.docker === "1",
    gpus: fields.gpus !== undefined ? Number(fields.gpus) : 0,
  };
  return fields.conda ? { ...caps, conda: fields.conda } : caps;
}

/**
 * Attach = probe. A RemoteVM is never created or deleted by the operator: ensure connects (host
 * key verified), makes sure workDir exists and is writable, and reports what the VM offers.
 * Expected failures become Ready=False with their own reason instead of exceptions, so the
 * controller writes status without guessing.
 */
export class RemoteVmProvider implements ComputeProvider {
  constructor(private readonly deps: RemoteVmProviderDeps) {}

  async ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation> {
    const spec = remoteVmSpecOf(target);
    try {
      const settings = await resolveConnectionSettings(spec, target.metadata.namespace ?? "default", ctx);
      const probe = await this.deps.pool.with(settings, (s) => runControl(s, "probe", [workDirOf(spec)], 45_000));
      const f = probe.fields;
      if (f.error || f.writable !== "1") {
        return this.notReady(TargetReason.InvalidSpec, `workDir ${spec.workDir} is not writable on ${settings.label}: ${f.error ?? "permission denied"}`, "Error");
      }
      return {
        ready: { status: "True", reason: TargetReason.Ready, message: `connected to ${settings.label}; workDir ${f.workdir}` },
        status: { capabilities: capabilitiesOf(probe.raw, f), runningRuns: Number(f.running ?? 0), lastProbeTime: ctx.now.toISOString() },
        requeueAfterMs: this.deps.probeIntervalMs ?? 300_000,
      };
    } catch (err) {
      if (err instanceof SshUnreachableError) {
        return { ...this.notReady(TargetReason.Unreachable, err.message, "Warning"), requeueAfterMs: this.deps.unreachableRetryMs ?? 30_000 };
      }
      // Secret, authentication and host-key problems wait for a human: no polling. Creating or
      // changing a Secret the target names, or its spec, wakes the controller (compute-target/controller.ts).
      if (err instanceof TerminalError) return this.notReady(reasonOf(err), err.message, "Error");
      throw err;
    }
  }

  private notReady(reason: Reason, message: string, severity: "Error" | "Warning"): TargetObservation {
    return { ready: { status: "False", reason, message, severity } };
  }

  /** Detach only: runs and environments on the VM are the user's; nothing remote is deleted. */
  async release(_target: ComputeTarget, _ctx: ProviderContext): Promise<{ done: boolean }> {
    return { done: true };
  }
}
