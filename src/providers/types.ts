import type { Logger } from "pino";
import type {
  ComputeTarget, ComputeTargetStatus, ComputeTargetType, Condition, RunConfigurationSpec, RunLinks, TrainingRun,
} from "../api/v1alpha1/index.js";
import type { KubeClient } from "../kube/client.js";
import type { AttemptStorage } from "../data-plane/data-plane.js";

/**
 * The seam between controllers and compute types (style guide B5/B13.7): one ComputeProvider and
 * one RunExecutor per target type, chosen from the registry. Every method returns promptly: long
 * work (provisioning, environment builds, the run itself) is started and then observed on later
 * calls through a handle the controller persists in status. All methods are idempotent, and
 * failures are thrown as the classes of src/runtime/errors.ts (TransientError, TerminalError...).
 */

export interface ProviderContext {
  readonly kube: KubeClient;
  readonly log: Logger;
  readonly now: Date;
  /** Reads a Secret of the object's namespace; undefined when it does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** The Ready verdict and status fields a provider observed for a target. */
export interface TargetObservation {
  readonly ready: Pick<Condition, "status" | "reason" | "message"> & { severity?: Condition["severity"] };
  /** Fields merged into ComputeTarget.status (capabilities, nodes, provisioningState, operation...). */
  readonly status?: Partial<Omit<ComputeTargetStatus, "conditions" | "observedGeneration">>;
  /** Check again after this long (polling an LRO, re-probing a VM). */
  readonly requeueAfterMs?: number;
}

export interface ComputeProvider {
  /** Provision/attach/probe the target towards its spec. Never awaits an LRO to completion. */
  ensure(target: ComputeTarget, ctx: ProviderContext): Promise<TargetObservation>;
  /**
   * On deletion: delete or detach the external resource per spec.deletionPolicy (attached targets
   * are only detached). Returns done=false while an operation is in flight.
   */
  release(target: ComputeTarget, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number; status?: TargetObservation["status"] }>;
}

export interface SnapshotFile {
  readonly path: string;
  readonly content: string;
  readonly mode?: number;
}

/** The source as frozen for a run. `digest` is sha256 over sorted (path, mode, content). */
export interface Snapshot {
  readonly digest: string;
  readonly files: readonly SnapshotFile[];
  readonly totalBytes: number;
}

/** Everything an executor needs for one attempt; built by the controller, never mutated. */
export interface RunSubmission {
  readonly run: TrainingRun;
  readonly target: ComputeTarget;
  /** The run configuration resolved at first submit (defaults applied, overrides merged). */
  readonly config: RunConfigurationSpec;
  readonly attempt: number;
  readonly runId: string;
  readonly snapshot: Snapshot;
  readonly environmentHash: string;
  /** argv to execute inside the source directory (script + arguments, or command). */
  readonly argv: readonly string[];
  /** argv[0] is a script to run with the environment's Python interpreter (false for commands). */
  readonly interpreterNeeded: boolean;
  /** The attempt in the run data plane (runner SAS URLs, outputs location); set for submit. */
  readonly storage?: AttemptStorage;
}

/** Provider-specific resume handle, persisted in TrainingRun.status.execution. JSON only. */
export type ExecutionHandle = Record<string, unknown>;

export type AttemptState =
  | "Preparing"   // snapshot upload, environment build
  | "Queued"      // waiting for capacity on the target
  | "Starting"    // process/pod/job created, not running yet
  | "Running"
  | "Succeeded"
  | "Failed"
  | "Lost";       // the execution vanished (pod/job/process gone without a result)

export interface RunObservation {
  readonly state: AttemptState;
  readonly exitCode?: number;
  /** Last lines of output, already bounded by the executor (≤ 8 KiB). */
  readonly outputTail?: string;
  /** Machine-readable cause for Failed/Preparing (e.g. EnvironmentFailed, OOMKilled). */
  readonly reason?: string;
  readonly message?: string;
  readonly links?: RunLinks;
  /** Updated handle to persist (e.g. after an LRO advanced). */
  readonly handle?: ExecutionHandle;
  /**
   * The attempt waits on a prerequisite that is now met (e.g. its environment finished building):
   * the controller calls submit() again to take the next step. submit stays idempotent.
   */
  readonly continueSubmit?: boolean;
  /** Poll again after this long; the controller picks a default when absent. */
  readonly pollAfterMs?: number;
}

export interface RunExecutor {
  /**
   * The executor materializes the snapshot itself from the store (through the runner and
   * `sub.storage`); the controller then does not load file contents into `sub.snapshot.files`.
   */
  readonly readsSnapshotFromStore?: boolean;
  /**
   * Starts attempt `sub.attempt` (or finds it already started: keyed by run UID + attempt, so a
   * repeat after a crash creates nothing new). Returns the handle to persist.
   */
  submit(sub: RunSubmission, ctx: ProviderContext): Promise<ExecutionHandle>;
  /** Read-only look at the attempt. */
  observe(sub: RunSubmission, handle: ExecutionHandle, ctx: ProviderContext): Promise<RunObservation>;
  /** Stops the attempt (kill the process group, cancel the job). Idempotent. */
  cancel(sub: RunSubmission, handle: ExecutionHandle, ctx: ProviderContext): Promise<void>;
  /**
   * Optional. The run has ended (any outcome: completed, failed, canceled, deadline): free what it
   * holds that costs money (e.g. a run-based Azure compute) while keeping logs and results. Called
   * until it reports done; idempotent.
   */
  release?(run: TrainingRun, target: ComputeTarget, handle: ExecutionHandle | undefined, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number }>;
  /** Removes what the attempt left on the target (TTL, deletion). Idempotent. */
  cleanup(run: TrainingRun, target: ComputeTarget | undefined, handle: ExecutionHandle | undefined, ctx: ProviderContext): Promise<void>;
}

export interface ProviderEntry {
  readonly compute: ComputeProvider;
  readonly executor?: RunExecutor;
  /**
   * The target owns external resources, so deletion waits for release() behind a finalizer.
   * A function decides per target (e.g. only targets registered in an Azure ML workspace).
   */
  readonly needsFinalizer?: boolean | ((target: ComputeTarget) => boolean);
}

/** Providers by target type; a missing entry reports ProviderNotAvailable. */
export type ProviderRegistry = Partial<Record<ComputeTargetType, ProviderEntry>>;
