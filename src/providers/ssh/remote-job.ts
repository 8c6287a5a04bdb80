import { isReason, RunReason, type Reason } from "../../api/v1alpha1/index.js";
import type { RunObservation, Attempt } from "../types.js";
import { TerminalError } from "../../runtime/errors.js";
import { OUTPUT_TAIL_BYTES, tailText } from "../shared/output-tail.js";

/*
 * Pure half of the remote run protocol (borrowed from Ansible's async mode: fire and forget, then
 * poll state files). Renders the per-attempt input files and turns the control script's status
 * output into a RunObservation. All I/O lives in remote-vm-executor.ts.
 */

export type EnvironmentMode = "venv" | "conda" | "user" | "docker";

/** Files the launcher reads from the run directory, and what the executor needs to remember. */
export interface RenderedRun {
  readonly mode: EnvironmentMode;
  readonly envDir?: string;
  readonly containerName?: string;
  readonly files: Readonly<Record<string, Buffer>>;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const invalid = (message: string): TerminalError => new TerminalError(message, "InvalidSpec");

/** NUL-separated list: the only framing that carries any byte sequence a shell argument can hold. */
export function nulList(items: readonly string[]): Buffer {
  for (const item of items) if (item.includes("\0")) throw invalid("a value contains a NUL byte");
  return Buffer.from(items.map((i) => `${i}\0`).join(""), "utf8");
}

/** A digest or hash as a file name: `sha256:ab…` → `sha256-ab…`. */
export function safeName(value: string, what: string): string {
  const name = value.replace(/:/g, "-");
  if (!SAFE_NAME.test(name)) throw invalid(`${what} "${value}" cannot name a file`);
  return name;
}

/** The run key as path segments; refuses anything that is not a Kubernetes UID + attempt number. */
export function runKey(uid: string | undefined, attempt: number): [string, string] {
  if (!uid || !/^[A-Za-z0-9-]{1,64}$/.test(uid)) throw invalid(`run uid "${uid ?? ""}" is not a Kubernetes UID`);
  if (!Number.isInteger(attempt) || attempt < 0) throw invalid(`attempt ${attempt} is not a non-negative integer`);
  return [uid, String(attempt)];
}

const QUANTITY_SUFFIX: Record<string, number> = {
  "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/**
 * A Kubernetes quantity (2Gi, 500M, 1e9) in bytes. docker's own unit parser reads "2g" and "2Gi"
 * alike as binary, so the operator hands docker plain bytes to keep the Kubernetes meaning.
 */
export function quantityToBytes(q: string | number): number {
  if (typeof q === "number") return Math.ceil(q);
  const m = /^(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?$/.exec(q.trim());
  if (!m) throw invalid(`"${q}" is not a byte quantity (use e.g. 2Gi or 512Mi)`);
  const base = Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : QUANTITY_SUFFIX[m[3] ?? ""]!);
  return Math.ceil(base);
}

function decideMode(sub: Attempt, condaAvailable: boolean): EnvironmentMode {
  const env = sub.config.environment;
  const sys = env?.systemManaged;
  if (sub.config.docker?.enabled) {
    if (sys) {
      throw new TerminalError("docker mode on RemoteVM runs the image's own Python: use a userManaged environment (interpreter inside the image)", "UnsupportedOnTarget");
    }
    if (!sub.config.docker.baseImage) throw invalid("docker.baseImage is required when docker.enabled is true on RemoteVM");
    return "docker";
  }
  if (!sys) return "user";
  const wantsConda = (sys.condaPackages?.length ?? 0) > 0 || sys.pythonVersion !== undefined;
  if (wantsConda && condaAvailable) return "conda";
  if ((sys.condaPackages?.length ?? 0) > 0) {
    throw new TerminalError("condaPackages need conda on the VM, and none was found: use pipPackages or install conda", "UnsupportedOnTarget");
  }
  return "venv";
}

function condaArgs(sub: Attempt): string[] {
  const sys = sub.config.environment?.systemManaged;
  const args = (sys?.channels ?? []).flatMap((c) => ["-c", c]);
  const pkgs = [...(sys?.condaPackages ?? [])];
  if (!pkgs.some((p) => /^python([=<>! ]|$)/.test(p))) pkgs.unshift(sys?.pythonVersion ? `python=${sys.pythonVersion}` : "python");
  if ((sys?.pipPackages?.length ?? 0) > 0 && !pkgs.some((p) => /^pip([=<>! ]|$)/.test(p))) pkgs.push("pip");
  return [...args, ...pkgs];
}

function requirements(sub: Attempt): string {
  const pkgs = sub.config.environment?.systemManaged?.pipPackages ?? [];
  // One requirement per line: a newline inside an entry would smuggle in a second line.
  for (const p of pkgs) if (/[\r\n\0]/.test(p)) throw invalid(`pip package "${p.slice(0, 40)}" contains a line break`);
  return pkgs.length ? `${pkgs.join("\n")}\n` : "";
}

/** The same fixed variables the Local target sets (providers/local/job-builder.ts), then the user's. */
function environ(sub: Attempt, outputDir: string): string[] {
  const vars: Record<string, string> = {
    PYTHONUNBUFFERED: "1",
    AZUREML_RUN_ID: sub.runId,
    AML_RUN_ID: sub.runId,
    AML_EXPERIMENT_NAME: sub.run.spec.experimentName,
    AML_ATTEMPT: String(sub.number),
    AML_OUTPUT_DIR: outputDir,
    AML_SNAPSHOT_DIGEST: sub.snapshot.digest,
    NODE_COUNT: "1",
    WORLD_SIZE: "1",
    ...sub.config.environmentVariables,
  };
  return Object.entries(vars).map(([k, v]) => {
    if (!ENV_NAME.test(k)) throw invalid(`environment variable name "${k}" is not valid`);
    return `${k}=${v}`;
  });
}

/** The run's working directory: the snapshot, materialized by the runner (mounted at /workspace in Docker). */
export const SOURCE_DIR = "src";
const DOCKER_WORKSPACE = "/workspace";

/** Absolute paths on the VM: the target's workDir, the attempt's run directory, the data-plane runner. */
export interface RunPaths {
  readonly workDir: string;
  readonly runDir: string;
  readonly runner: string;
}

/** Renders the per-attempt files. Pure; throws TerminalError for input no VM could run. */
export function renderRun(sub: Attempt, paths: RunPaths, condaAvailable: boolean): RenderedRun {
  const { workDir, runDir, runner } = paths;
  if (sub.config.nodeCount > 1 || sub.config.processCountPerNode > 1) {
    throw new TerminalError("a RemoteVM runs one process on one machine: nodeCount and processCountPerNode must be 1", "UnsupportedOnTarget");
  }
  const mode = decideMode(sub, condaAvailable);
  const envDir = mode === "venv" || mode === "conda"
    ? `${workDir}/envs/${mode}-${safeName(sub.environmentHash, "environment hash")}`
    : undefined;
  const containerName = mode === "docker" ? `aml-${sub.run.metadata.uid}-${sub.number}` : undefined;
  if (sub.argv.length === 0) throw invalid("the run has neither script nor command");
  const launch: Record<string, string> = {
    workdir: workDir,
    runner,
    mode,
    env_dir: envDir ?? "",
    python_version: sub.config.environment?.systemManaged?.pythonVersion ?? "",
    interpreter: sub.config.environment?.userManaged?.interpreterPath ?? "python3",
    use_interpreter: sub.interpreterNeeded ? "1" : "0",
    max_seconds: String(sub.config.maxRunDurationSeconds ?? 0),
    image: sub.config.docker?.baseImage ?? "",
    gpu: sub.config.docker?.gpu ? "1" : "0",
    shm_size: sub.config.docker?.shmSize !== undefined ? String(quantityToBytes(sub.config.docker.shmSize)) : "",
    container: containerName ?? "",
  };
  const files: Record<string, Buffer> = {
    launch: nulList(Object.entries(launch).flat()),
    argv: nulList(sub.argv),
    // ./outputs of the working directory: what the runner uploads when the command ends.
    environ: nulList(environ(sub, `${mode === "docker" ? DOCKER_WORKSPACE : `${runDir}/${SOURCE_DIR}`}/outputs`)),
    "requirements.txt": Buffer.from(requirements(sub), "utf8"),
    conda_args: nulList(mode === "conda" ? condaArgs(sub) : []),
    docker_args: nulList(sub.config.docker?.arguments ?? []),
  };
  return { mode, envDir, containerName, files };
}

/** key=value lines, then `---`, then the raw log tail. */
export interface RemoteStatus {
  readonly fields: Readonly<Record<string, string>>;
  readonly tail: string;
}

export function parseStatus(stdout: string): RemoteStatus {
  const sep = stdout.indexOf("\n---\n");
  const head = sep < 0 ? stdout : stdout.slice(0, sep);
  const fields: Record<string, string> = {};
  for (const line of head.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { fields, tail: sep < 0 ? "" : stdout.slice(sep + 5) };
}


const STARTING_GRACE_S = 60;

type Base = Pick<RunObservation, "outputTail" | "links">;

function finished(f: Record<string, string | undefined>, base: Base): RunObservation<never> {
  const exitCode = Number(f.exit_code);
  // The launcher's reasons are RunReason values, except SnapshotFailed (a failed copy on the VM).
  const reason: Reason = f.reason === "SnapshotFailed" ? RunReason.SubmissionFailed : (f.reason !== undefined && isReason(f.reason) ? f.reason : RunReason.ScriptFailed);
  if (exitCode === 0 && reason === "Completed") return { ...base, state: "Succeeded", exitCode, reason };
  if (NOT_MATERIALIZED.has(reason)) {
    // The runner's exit code is not the script's: none is reported, as on the other targets.
    return { ...base, state: "Failed", reason, message: `the snapshot was not materialized, nothing ran: ${f.detail ?? reason}` };
  }
  return { ...base, state: "Failed", exitCode, reason, message: failureMessage(reason, exitCode) };
}

/** Reasons the launcher takes from the runner's materialize step: the command never started. */
const NOT_MATERIALIZED: ReadonlySet<string> = new Set([RunReason.SnapshotCorrupt, RunReason.SnapshotInvalid, RunReason.SnapshotUnavailable, RunReason.RunnerFailed]);

function failureMessage(reason: string, exitCode: number): string {
  switch (reason) {
    case "DeadlineExceeded": return "stopped after maxRunDurationSeconds";
    case "Canceled": return "canceled";
    case "EnvironmentFailed": return `building the environment failed (exit code ${exitCode}); see the output`;
    case "SubmissionFailed": return "copying the snapshot into the run directory failed";
    default: return `the script exited with code ${exitCode}`;
  }
}

/** Maps the remote state files to the contract's AttemptState. Pure. */
export function decideObservation(status: RemoteStatus, runDir: string): RunObservation<never> {
  const f: Record<string, string | undefined> = status.fields;
  const truncated = Number(f.log_bytes ?? 0) > Buffer.byteLength(status.tail, "utf8");
  const base: Base = { outputTail: tailText(status.tail, OUTPUT_TAIL_BYTES, truncated), links: { remoteRunDir: runDir } };
  if (f.exists !== "1") return { ...base, state: "Lost", reason: "Lost", message: `run directory ${runDir} is gone` };
  if (f.exit_code !== undefined) return finished(f, base);
  if (f.started !== "1") {
    if (f.canceled === "1") return { ...base, state: "Failed", reason: "Canceled", message: "canceled while queued" };
    if (f.queued === "1") {
      if (f.admissible === "1") return { ...base, state: "Queued", reason: "Queued", message: "a slot is free: submit again to start", continueSubmit: true, pollAfterMs: 1_000 };
      return { ...base, state: "Queued", reason: "Queued", message: `waiting for a free slot (maxConcurrentRuns), position ${f.queue_position ?? "?"}`, pollAfterMs: 10_000 };
    }
    return { ...base, state: "Lost", reason: "Lost", message: "the attempt was prepared but never admitted; submit again" };
  }
  if (f.alive === "1") {
    if (f.phase === "running") return { ...base, state: "Running", pollAfterMs: 5_000 };
    const building = f.env_status === "building";
    return { ...base, state: "Preparing", reason: building ? "BuildingEnvironment" : "Preparing", pollAfterMs: 5_000 };
  }
  if (f.pid === undefined && Number(f.started_age ?? 0) < STARTING_GRACE_S) return { ...base, state: "Starting", pollAfterMs: 2_000 };
  if (f.canceled === "1") return { ...base, state: "Failed", reason: "Canceled", message: "canceled; the process was killed" };
  return { ...base, state: "Lost", reason: "Lost", message: "the launcher ended without writing an exit code (VM rebooted or process killed)" };
}
