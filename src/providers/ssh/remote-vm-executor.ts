import type { ComputeTarget } from "../../api/v1alpha1/index.js";
import { RunReason } from "../../api/v1alpha1/index.js";
import { RUNNER_FILE, runnerScript } from "../../data-plane/runner/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { decodeShape } from "../shared/handle.js";
import type { Attempt, ProviderContext, RunExecutor, RunObservation } from "../types.js";
import { remoteVmSpecOf, resolveConnectionSettings, workDirOf, type ConnectionSettings } from "./connection-settings.js";
import { runControl } from "./remote-control.js";
import { writeAtomically } from "./remote-files.js";
import { decideObservation, nulList, renderRun, runKey, type EnvironmentMode } from "./remote-job.js";
import { LAUNCH_SCRIPT, LAUNCH_SCRIPT_NAME } from "./remote-scripts.js";
import type { SessionPool } from "./session-pool.js";
import type { SshSession } from "./session.js";

/** The resume handle persisted in TrainingRun.status.execution. JSON only; holds no secret. */
export interface RemoteVmHandle {
  readonly version: 1;
  readonly endpoint: string;
  readonly runDir: string;
  readonly launcher: string;
  readonly containerName?: string;
  readonly environment: { readonly mode: EnvironmentMode; readonly hash: string; readonly dir?: string };
  readonly snapshotDigest: string;
  /**
   * started: launched now; queued: waiting for a slot (observe reports continueSubmit when one
   * frees); already: found started by an earlier submit; canceled: canceled before it could start.
   */
  readonly admission: "started" | "queued" | "already" | "canceled";
  /** building | built | reused, as the launcher reported it (set by observe). */
  readonly environmentStatus?: string;
}

export interface RemoteVmExecutorDeps {
  readonly pool: SessionPool;
}

/** The runner on the VM, content-addressed like the launcher: a new version never alters running attempts. */
const runnerName = (): string => `${RUNNER_FILE.replace(/\.py$/, "")}-${runnerScript().hash}.py`;

/** The file in the run directory that carries the runner's SAS URLs (mode 0600; the launcher deletes it once read). */
export const STORE_ENV_FILE = "store.env";

function admissionOf(verdict: string | undefined, label: string): RemoteVmHandle["admission"] {
  if (verdict === "started" || verdict === "queued" || verdict === "already" || verdict === "canceled") return verdict;
  // Another submit on this VM held the admission lock for 20 s: nothing was recorded, try again.
  throw new TransientError(`${label}: admission lock busy (${verdict ?? "no answer"})`, 5_000, { reason: "AdmissionBusy" });
}

function namespaceOf(obj: { metadata: { namespace?: string } }): string {
  return obj.metadata.namespace ?? "default";
}

/** What a RemoteVM (or HDInsight head node) attempt's handle must hold to be used. */
export function decodeRemoteVmHandle(raw: unknown): RemoteVmHandle | undefined {
  return decodeShape<RemoteVmHandle>(raw, { version: "number", endpoint: "string", runDir: "string", launcher: "string", containerName: "string?", snapshotDigest: "string", admission: "string" });
}

/**
 * RunExecutor for RemoteVM. submit ships the launcher, the data-plane runner and the attempt's
 * inputs (the store's SAS URLs in a 0600 file, never on a command line) and launches a detached
 * attempt (or queues it); on the VM the runner fetches and verifies the snapshot from the store
 * into a fresh directory, runs the command there and uploads ./outputs and the log on any exit.
 * observe reads state files, cancel signals, cleanup deletes the run directory. Every call is one
 * short SSH exchange; nothing waits for the run.
 */
export class RemoteVmExecutor implements RunExecutor<RemoteVmHandle> {

  constructor(private readonly deps: RemoteVmExecutorDeps) {}

  private async settings(target: ComputeTarget, ctx: ProviderContext): Promise<ConnectionSettings> {
    return resolveConnectionSettings(remoteVmSpecOf(target), namespaceOf(target), ctx);
  }

  decodeHandle(raw: unknown): RemoteVmHandle | undefined {
    return decodeRemoteVmHandle(raw);
  }

  async submit(sub: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<RemoteVmHandle> {
    const spec = remoteVmSpecOf(sub.target);
    const settings = await this.settings(sub.target, ctx);
    const [uid, attempt] = runKey(sub.run.metadata.uid, sub.number);
    const storage = sub.storage;
    if (!storage) throw new TerminalError("no run data plane for this attempt (the operator has no snapshot store)", RunReason.StoreNotConfigured);
    return this.deps.pool.with(settings, async (session) => {
      const runner = runnerName();
      const prep = await runControl(session, "prepare", [workDirOf(spec), uid, attempt, LAUNCH_SCRIPT_NAME, runner]);
      const workDir = prep.fields.workdir;
      if (!workDir) throw new TerminalError(`${settings.label}: cannot prepare ${spec.workDir}`, "InvalidSpec");
      const runDir = `${workDir}/runs/${uid}/${attempt}`;
      const launcher = `${workDir}/bin/${LAUNCH_SCRIPT_NAME}`;
      const runnerPath = `${workDir}/bin/${runner}`;
      const rendered = renderRun(sub, { workDir, runDir, runner: runnerPath }, prep.fields.conda === "1");
      const handle = (admission: RemoteVmHandle["admission"]): RemoteVmHandle => ({
        version: 1, endpoint: settings.label, runDir, launcher, containerName: rendered.containerName,
        environment: { mode: rendered.mode, hash: sub.environmentHash, dir: rendered.envDir },
        snapshotDigest: sub.snapshot.digest, admission,
      });
      // Keyed by run UID + attempt: a started attempt is never started again (operator restart).
      if (prep.fields.run_started === "1") return handle("already");
      if (prep.fields.run_queued !== "1") {
        if (prep.fields.launcher !== "1") await writeAtomically(session, launcher, LAUNCH_SCRIPT, 0o700);
        if (prep.fields.runner !== "1") await writeAtomically(session, runnerPath, runnerScript().text, 0o600);
        const storeEnv = Object.entries(await storage.runnerEnv()).map(([k, v]) => `${k}=${v}`);
        await this.writeRunFiles(session, runDir, { ...rendered.files, [STORE_ENV_FILE]: nulList(storeEnv) });
      }
      const admit = await runControl(session, "admit", [runDir, String(spec.maxConcurrentRuns ?? 1), launcher]);
      const admission = admissionOf(admit.fields.admit, settings.label);
      ctx.log.info({ runDir, admission, outputs: storage.location }, "remote attempt submitted");
      return handle(admission);
    });
  }

  private async writeRunFiles(session: SshSession, runDir: string, files: Readonly<Record<string, Buffer>>): Promise<void> {
    await Promise.all(Object.entries(files).map(([name, data]) => writeAtomically(session, `${runDir}/${name}`, data, 0o600)));
  }

  /**
   * Read-only (a queued attempt's queue entry gets a heartbeat). A Queued attempt whose slot came
   * free is reported with continueSubmit: the controller calls submit again, which admits it.
   */
  async observe(sub: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<RunObservation<RemoteVmHandle>> {
    const handle = sub.handle;
    if (!handle) return { state: "Lost", reason: "Lost", message: "no RemoteVM handle recorded for this attempt" };
    const spec = remoteVmSpecOf(sub.target);
    const settings = await this.settings(sub.target, ctx);
    return this.deps.pool.with(settings, async (session) => {
      const status = await runControl(session, "observe", [handle.runDir, String(spec.maxConcurrentRuns ?? 1)]);
      const obs = decideObservation(status, handle.runDir);
      const env = status.fields.env_status;
      // Persist the environment verdict (built/reused) once, not on every poll.
      return env && env !== handle.environmentStatus ? { ...obs, handle: { ...handle, environmentStatus: env } } : obs;
    });
  }

  async cancel(sub: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<void> {
    const handle = sub.handle;
    if (!handle) return;
    const settings = await this.settings(sub.target, ctx);
    await this.deps.pool.with(settings, (session) => runControl(session, "cancel", [handle.runDir, handle.containerName ?? ""]));
  }

  async cleanup({ target, handle }: Attempt<RemoteVmHandle>, ctx: ProviderContext): Promise<void> {
    // Without a handle there is nothing addressable left; the VM keeps the directory.
    if (!handle) return;
    const settings = await this.settings(target, ctx);
    await this.deps.pool.with(settings, (session) => runControl(session, "cleanup", [handle.runDir, handle.containerName ?? ""]));
  }
}
