import type { Logger } from "pino";
import type {
  ComputeTarget, ComputeTargetStatus, ComputeTargetType, Condition, Reason, RunConfigurationSpec, RunLinks, TrainingRun,
} from "../api/v1alpha1/index.js";
import type { KubeClient } from "../kube/client.js";
import type { AttemptStorage } from "../data-plane/data-plane.js";

/**
 * The seam between controllers and compute types: one ProviderEntry per target type (registry.ts
 * lists them all), with a ComputeProvider for the target itself, an optional RunExecutor for runs,
 * and validate() for run configurations. Every method returns promptly: long work (provisioning,
 * environment builds, the run itself) is started and then observed on later calls through a handle
 * the controller persists in status. All methods are idempotent, and failures are thrown as the
 * classes of src/runtime/errors.ts (TransientError, TerminalError...) carrying a reason.
 */

export interface ProviderContext {
  readonly kube: KubeClient;
  readonly log: Logger;
  readonly now: Date;
  /** The reconcile's signal: aborted on the reconcile timeout or shutdown. Pass it to network calls. */
  readonly signal: AbortSignal;
  /** Reads a Secret of the object's namespace; undefined when it does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** The Ready verdict and status fields a provider observed for a target. */
export interface TargetObservation {
  readonly ready: Pick<Condition, "status" | "message"> & { reason: Reason; severity?: Condition["severity"] };
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

/**
 * One attempt of one run, as the controller resolved it. Built for every executor call, never
 * mutated. Only submit receives the snapshot's files; the other calls get its digest alone.
 */
export interface Attempt<H = unknown> {
  readonly run: TrainingRun;
  readonly target: ComputeTarget;
  /** The run configuration frozen at first submit (defaults applied, overrides merged). */
  readonly config: RunConfigurationSpec;
  /** 1-based attempt number, the same in status.execution.attempt, names and environment variables. */
  readonly number: number;
  readonly runId: string;
  readonly environmentHash: string;
  readonly snapshot: Snapshot;
  /** argv to execute inside the source directory (script + arguments, or command). */
  readonly argv: readonly string[];
  /** argv[0] is a script to run with the environment's Python interpreter (false for commands). */
  readonly interpreterNeeded: boolean;
  /** The provider's own handle from status.execution.handle, decoded by decodeHandle; undefined before the first submit. */
  readonly handle: H | undefined;
  /** The attempt in the run data plane (runner SAS URLs, outputs location); set for submit, and for release when the executor collects outputs then. */
  readonly storage?: AttemptStorage;
}

export type AttemptState =
  | "Preparing"   // snapshot upload, environment build
  | "Queued"      // waiting for capacity on the target
  | "Starting"    // process/pod/job created, not running yet
  | "Running"
  | "Succeeded"
  | "Failed"
  | "Lost";       // the execution vanished (pod/job/process gone without a result)

export interface RunObservation<H = unknown> {
  readonly state: AttemptState;
  readonly exitCode?: number;
  /** Last lines of output, bounded by the executor (≤ 8 KiB, see shared/output-tail.ts). */
  readonly outputTail?: string;
  /** Machine-readable cause for Failed/Preparing (e.g. EnvironmentFailed, OOMKilled). */
  readonly reason?: Reason;
  readonly message?: string;
  readonly links?: RunLinks;
  /** Updated handle to persist (e.g. a verdict worth remembering). */
  readonly handle?: H;
  /**
   * The attempt waits on a prerequisite that is now met (e.g. its environment finished building):
   * the controller calls submit() again to take the next step. submit stays idempotent.
   */
  readonly continueSubmit?: boolean;
  /** Poll again after this long; the controller picks a default when absent. */
  readonly pollAfterMs?: number;
}

/**
 * Runs attempts on one target type. H is the provider's handle: JSON only, identifiers only (never
 * a secret), persisted in TrainingRun.status.execution.handle.
 */
export interface RunExecutor<H = unknown> {
  /** Validates what status.execution.handle holds; undefined when it is not a handle of this provider. */
  decodeHandle(raw: unknown): H | undefined;
  /**
   * The target's own service keeps the attempt's outputs (an Azure ML job's artifact store):
   * `release` copies them into the run store and writes result.json there. The controller then
   * passes `a.storage` to release and reads the attempt's result after it.
   */
  readonly collectsOutputsOnRelease?: boolean;
  /**
   * Observe, cancel, release and cleanup need only the run and the handle, not the target's spec
   * (Local: the Job belongs to the run). A run whose target is deleted mid-run is then followed to
   * its real end; otherwise it waits, phase unchanged, until a target of that name exists again.
   */
  readonly observesWithoutTarget?: boolean;
  /**
   * Starts attempt `a.number` (or finds it already started: keyed by run UID + attempt number, so a
   * repeat after a crash creates nothing new). Returns the handle to persist.
   */
  submit(a: Attempt<H>, ctx: ProviderContext): Promise<H>;
  /**
   * Optional. What observe() would report right after submit returned `handle`, when the executor
   * knows it without a request (a Local Job just created is Starting): the controller writes it
   * with the handle, in the submit's one status write, rather than in a second one.
   */
  stateAfterSubmit?(handle: H): RunObservation<H> | undefined;
  /** A strictly read-only look at the attempt: no create, update or delete anywhere. */
  observe(a: Attempt<H>, ctx: ProviderContext): Promise<RunObservation<H>>;
  /** Stops the attempt (kill the process group, cancel the job). Idempotent. */
  cancel(a: Attempt<H>, ctx: ProviderContext): Promise<void>;
  /**
   * Optional. Attempt `a` has ended (any outcome) and will not be observed again: free what it holds
   * that costs money (a Batch job's auto-pool, a run-based Azure compute once the run itself has
   * finished) while keeping logs and results. Called before a retry starts the next attempt and
   * once the run finishes, until it reports done; idempotent. Deletions live here, never in observe.
   */
  release?(a: Attempt<H>, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number }>;
  /** Removes what the attempt left on the target (TTL, deletion). Idempotent. */
  cleanup(a: Attempt<H>, ctx: ProviderContext): Promise<void>;
  /**
   * Everything an attempt creates is owned by the TrainingRun (ownerReferences), so the garbage
   * collector removes it with the run: deleting a run calls no cleanup().
   */
  readonly ownedByRun?: boolean;
}

/** Why a run configuration cannot run on a target: the RunConfiguration's Ready=False reason and message. */
export interface ValidationProblem {
  readonly reason: Reason;
  readonly message: string;
}

export interface ProviderEntry {
  readonly compute: ComputeProvider;
  readonly executor?: RunExecutor;
  /**
   * What this target type cannot run, decided before any run is submitted (framework, nodeCount,
   * environment kind...). The RunConfiguration controller shows it as Ready=False, and a run whose
   * own overrides hit it fails before submit, with the provider's reason.
   */
  validate(configuration: RunConfigurationSpec, target: ComputeTarget): ValidationProblem | undefined;
  /**
   * The target owns external resources, so deletion waits for release() behind a finalizer.
   * A function decides per target (e.g. only targets registered in an Azure ML workspace).
   */
  readonly needsFinalizer?: boolean | ((target: ComputeTarget) => boolean);
  /** Frees process-wide resources (pooled connections) on shutdown. */
  close?(): void;
}

/**
 * Providers by target type. entry() loads a provider on first use (its SDKs are imported then, when
 * the first target of its type appears) and returns the same entry afterwards; undefined means this
 * build has no provider for the type (ProviderNotAvailable).
 */
export interface ProviderRegistry {
  entry(type: ComputeTargetType): Promise<ProviderEntry | undefined>;
  /** Closes the entries loaded so far. */
  close(): void;
}
