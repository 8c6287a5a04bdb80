import type { AzureMachineLearningWorkspaces, CommandJob, JobBase } from "@azure/arm-machinelearning";
import type { TokenCredential } from "@azure/identity";
import { BlobServiceClient, StorageSharedKeyCredential, AnonymousCredential, type ContainerClient } from "@azure/storage-blob";
import { stringify as toYaml } from "yaml";
import { TERMINAL_PHASES, type Reason, type AmlComputeTargetSpec, type ComputeTarget, type RunConfigurationSpec, type TrainingRun } from "../../api/v1alpha1/index.js";
import { RunReason, TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { exitCodeFromLogs, withoutMarker } from "../shared/exit-marker.js";
import { decodeShape } from "../shared/handle.js";
import { sanitizeName } from "../shared/names.js";
import { OUTPUT_TAIL_BYTES } from "../shared/output-tail.js";
import type { Attempt, AttemptState, ProviderContext, RunExecutor, RunObservation } from "../types.js";
import { hexOfDigest, totalsOf } from "../../data-plane/manifest.js";
import { runnerRefusal } from "../../data-plane/runner/index.js";
import { adoptCommand, adoptEnvironment, codeFolder, ensureRunnerInputs, runnerInputs, uploadCode } from "./code-asset.js";
import { collectJobOutputs } from "./job-outputs.js";
import { putCommandJob } from "./job-put.js";
import type { AzureClients, ResolvedCredential } from "../shared/azure/clients.js";
import { ComputeOps, OWNER_TAG, OWNER_UID_TAG, type ComputeParams } from "../shared/azure/compute-ops.js";
import type { ResolvedAzureMlConfig } from "../shared/azure/config.js";
import { classifyArmError, isNotFound } from "../shared/azure/errors.js";
import { amlComputeName, runBasedComputeName } from "./names.js";

const ENV_NAME = "amlcompute-env";

/** Persisted in TrainingRun.status.execution. Identifiers only; never a key or token. */
export interface AmlHandle {
  readonly jobName: string;
  readonly computeName: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly workspace: string;
  /** Set when the compute was created for this run and must be deleted after it. */
  readonly runBasedCompute?: boolean;
  readonly codeId?: string;
  readonly environmentId?: string;
}


/** Azure ML job name: deterministic from run UID + attempt, so a repeated submit finds the same job. */
export function azureJobName(run: TrainingRun, attempt: number): string {
  const uid = (run.metadata.uid ?? sanitizeName(run.metadata.name ?? "")).replace(/-/g, "").slice(0, 12);
  return `${sanitizeName(run.metadata.name ?? "").slice(0, 40) || "run"}-${uid}-a${attempt}`;
}

/** Azure ML job status → attempt state (reason keeps Azure's word for the display phase). */
export function mapJobStatus(status: string | undefined): { state: AttemptState; reason: Reason } {
  switch (status) {
    case "NotStarted":
    case "Queued":
    case "Paused":
      return { state: "Queued", reason: RunReason.Queued };
    case "Provisioning":
      return { state: "Queued", reason: RunReason.Provisioning };
    case "Preparing":
      return { state: "Preparing", reason: RunReason.Preparing };
    case "Starting":
      return { state: "Starting", reason: RunReason.Starting };
    case "Running":
    case "NotResponding":
    case "CancelRequested":
    case "Unknown":
    case undefined:
      return { state: "Running", reason: status === "CancelRequested" ? RunReason.CancelRequested : RunReason.Running };
    case "Finalizing":
      return { state: "Running", reason: RunReason.Finalizing };
    case "Completed":
      return { state: "Succeeded", reason: RunReason.Completed };
    case "Canceled":
      return { state: "Failed", reason: RunReason.Canceled };
    case "Failed":
    default:
      return { state: "Failed", reason: RunReason.ScriptFailed };
  }
}

/**
 * A workspace datastore opened for the operator. `url` is the container's plain storage URL (what
 * a code version's codeUri names): never the SAS a Sas datastore authenticates with, which stays
 * in memory and out of every asset.
 */
interface StoreAccess { name: string; container: ContainerClient; url: string; expires: number }

function condaFile(config: RunConfigurationSpec): string | undefined {
  const sys = config.environment?.systemManaged;
  if (!sys) return undefined;
  const deps: unknown[] = [];
  if (sys.pythonVersion) deps.push(`python=${sys.pythonVersion}`);
  deps.push(...(sys.condaPackages ?? []));
  if (sys.pipPackages?.length) deps.push("pip", { pip: [...sys.pipPackages] });
  return toYaml({ name: "amlcompute", channels: sys.channels ?? ["conda-forge"], dependencies: deps });
}

/**
 * Azure ML's distribution block for the framework (resources.instanceCount carries nodeCount):
 * Azure ML starts processCountPerInstance processes per node for PyTorch and MPI, and workerCount
 * (+ parameterServerCount) TensorFlow tasks over the nodes, each with its rank variables.
 */
export function distribution(config: RunConfigurationSpec): CommandJob["distribution"] | undefined {
  switch (config.framework) {
    case "PyTorch": return { distributionType: "PyTorch", processCountPerInstance: config.processCountPerNode };
    case "TensorFlow": return {
      distributionType: "TensorFlow", workerCount: config.nodeCount * config.processCountPerNode,
      ...(config.parameterServerCount ? { parameterServerCount: config.parameterServerCount } : {}),
    };
    case "MPI": return { distributionType: "Mpi", processCountPerInstance: config.processCountPerNode };
    case "Python":
    case "PySpark":
      return undefined;
  }
}

/**
 * TrainingRuns on AmlCompute as Azure ML command jobs. submit: snapshot → workspace default blob
 * datastore (skipped when the code version of that digest exists), environment version keyed by
 * the environment hash, command job named from run UID + attempt (GET first; PUT is idempotent).
 * observe: one GET of the job, plus the tail of the job's user log (std_log.txt, or rank 0's
 * std_log_process_00.txt for distributed jobs) from the artifact store, whose last line carries
 * the exit code.
 */
export class AmlRunExecutor implements RunExecutor<AmlHandle> {
  private readonly stores = new Map<string, StoreAccess>();
  /** The code asset is copied from the run store (code-asset.ts); the runner adopts it on the node. */
  /** Azure ML keeps ./outputs and the log; release copies them into the run store (job-outputs.ts). */
  readonly collectsOutputsOnRelease = true;

  constructor(private readonly clients: AzureClients, private readonly config: ResolvedAzureMlConfig) {}

  private spec(target: ComputeTarget): AmlComputeTargetSpec {
    const spec = target.spec.amlCompute;
    if (!spec) throw new TerminalError("spec.amlCompute is required when type is AmlCompute", TargetReason.InvalidSpec);
    return spec;
  }

  private async arm(target: ComputeTarget, ctx: ProviderContext, sub: string): Promise<AzureMachineLearningWorkspaces> {
    try {
      const arm = await this.clients.armFor(target, ctx, sub);
      this.clients.budget.admit(sub);
      return arm;
    } catch (e) {
      throw classifyArmError(e, "ARM access");
    }
  }

  private wsId(h: { subscriptionId: string; resourceGroup: string; workspace: string }): string {
    return `/subscriptions/${h.subscriptionId}/resourceGroups/${h.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${h.workspace}`;
  }

  /**
   * A workspace datastore, opened the way the Azure ML SDK opens it: with the secret the datastore
   * stores (account key or SAS, from listSecrets, kept in memory only) or, for an identity-based
   * datastore (credentialsType None: no stored secret), with the caller's own Entra identity.
   */
  private async store(arm: AzureMachineLearningWorkspaces, where: { rg: string; ws: string; credential: ResolvedCredential }, which: "default" | "workspaceartifactstore"): Promise<StoreAccess> {
    const { rg, ws } = where;
    // Per credential too: a store opened for one namespace's identity is never lent to another's.
    const key = `${where.credential.cacheKey}|${arm.subscriptionId}/${rg}/${ws}/${which}`.toLowerCase();
    const cached = this.stores.get(key);
    if (cached && cached.expires > Date.now()) return cached;
    try {
      let name: string;
      let props: { accountName?: string; containerName?: string; endpoint?: string; protocol?: string; datastoreType?: string; credentials?: { credentialsType?: string } };
      if (which === "default") {
        const page = await arm.datastores.list(rg, ws, { isDefault: true }).byPage().next();
        const ds = (page.value as { name?: string; properties: typeof props }[] | undefined)?.[0];
        if (!ds?.name) throw new TerminalError(`workspace ${ws} has no default datastore`, TargetReason.AzureError);
        name = ds.name;
        props = ds.properties;
      } else {
        const ds = await arm.datastores.get(rg, ws, which);
        name = which;
        props = ds.properties as typeof props;
      }
      if (props.datastoreType !== "AzureBlob" || !props.accountName || !props.containerName) {
        throw new TerminalError(`datastore ${name} of workspace ${ws} is not an Azure Blob datastore`, TargetReason.AzureError);
      }
      const base = this.config.blobEndpointTemplate
        .replace("{account}", props.accountName)
        .replace("{endpoint}", props.endpoint ?? "core.windows.net")
        .replace("{protocol}", props.protocol ?? "https");
      const service = await this.blobService(arm, { rg, ws, name, base, accountName: props.accountName, identityBased: props.credentials?.credentialsType === "None", credential: where.credential.credential });
      const access: StoreAccess = { name, container: service.getContainerClient(props.containerName), url: `${base.replace(/\/+$/, "")}/${props.containerName}`, expires: Date.now() + 10 * 60_000 };
      this.stores.set(key, access);
      return access;
    } catch (e) {
      throw classifyArmError(e, `datastore of workspace ${ws}`);
    }
  }

  private async blobService(arm: AzureMachineLearningWorkspaces, d: { rg: string; ws: string; name: string; base: string; accountName: string; identityBased: boolean; credential: TokenCredential }): Promise<BlobServiceClient> {
    const opts = { retryOptions: { maxTries: 1 } };
    if (d.identityBased) return new BlobServiceClient(d.base, d.credential, opts);
    const secrets = await arm.datastores.listSecrets(d.rg, d.ws, d.name) as { secretsType: string; key?: string; sasToken?: string };
    if (secrets.secretsType === "AccountKey" && secrets.key) return new BlobServiceClient(d.base, new StorageSharedKeyCredential(d.accountName, secrets.key), opts);
    if (secrets.secretsType === "Sas" && secrets.sasToken) return new BlobServiceClient(`${d.base}?${secrets.sasToken.replace(/^\?/, "")}`, new AnonymousCredential(), opts);
    throw new TerminalError(`datastore ${d.name} uses ${secrets.secretsType} credentials; AccountKey, Sas or identity-based access (None) is required`, TargetReason.AzureError);
  }

  decodeHandle(raw: unknown): AmlHandle | undefined {
    return decodeShape<AmlHandle>(raw, {
      jobName: "string", computeName: "string", subscriptionId: "string", resourceGroup: "string", workspace: "string",
      runBasedCompute: "boolean?", codeId: "string?", environmentId: "string?",
    });
  }

  async submit(sub: Attempt<AmlHandle>, ctx: ProviderContext): Promise<AmlHandle> {
    const spec = this.spec(sub.target);
    const { subscriptionId, resourceGroup: rg, name: ws } = spec.workspace;
    const arm = await this.arm(sub.target, ctx, subscriptionId);
    const rb = sub.run.spec.runBasedCompute;
    const jobName = azureJobName(sub.run, sub.number);
    const computeName = rb ? runBasedComputeName(sub.run) : amlComputeName(sub.target, spec);
    const handle: AmlHandle = { jobName, computeName, subscriptionId, resourceGroup: rg, workspace: ws, ...(rb ? { runBasedCompute: true } : {}) };
    const wsId = this.wsId(handle);
    try {
      try {
        await arm.jobs.get(rg, ws, jobName);
        return handle; // submitted before (crash after PUT, or a repeated call): nothing new
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }

      if (rb) {
        // The temporary cluster: created (GET before PUT) but not awaited; the job queues until it is ready.
        const ops = new ComputeOps(arm, rg, ws);
        if (!(await ops.get(computeName))) {
          const params: ComputeParams = {
            computeName, vmSize: rb.vmSize, vmPriority: rb.vmPriority, minNodes: 0, maxNodes: rb.maxNodes,
            idleSecondsBeforeScaleDown: 120, location: spec.location,
            tags: { [OWNER_TAG]: `${sub.run.metadata.namespace ?? "default"}.${sub.run.metadata.name}`, [OWNER_UID_TAG]: sub.run.metadata.uid ?? "" },
            description: `Run-based compute of TrainingRun ${sub.run.metadata.namespace ?? "default"}/${sub.run.metadata.name}; deleted when the run ends`,
          };
          await ops.begin("create", computeName, ctx.now, { params });
        }
      }

      // Code: one version per snapshot digest, copied once from the run store (code-asset.ts);
      // the runner and the manifest, the job's uri_file inputs, beside it in the same datastore.
      if (!sub.storage) throw new TerminalError("no run store for this attempt", RunReason.SubmissionFailed);
      const digest = sub.snapshot.digest;
      const codeName = `amlcompute-${hexOfDigest(digest).slice(0, 40)}`;
      const codeId = `${wsId}/codes/${codeName}/versions/1`;
      const datastore = await this.store(arm, { rg, ws, credential: await this.clients.credentialFor(sub.target, ctx) }, "default");
      await ensureRunnerInputs(sub.storage.store, digest, datastore);
      let haveCode = true;
      try {
        await arm.codeVersions.get(rg, ws, codeName, "1");
      } catch (e) {
        if (!isNotFound(e)) throw e;
        haveCode = false;
      }
      if (!haveCode) {
        const manifest = await uploadCode(sub.storage.store, digest, datastore);
        const totals = totalsOf(manifest.files);
        await arm.codeVersions.createOrUpdate(rg, ws, codeName, "1", {
          properties: { codeUri: `${datastore.url}/${codeFolder(digest)}`, isAnonymous: true, description: `Snapshot ${digest} (${totals.files} files, ${totals.bytes} bytes)` },
        });
      }

      // Environment: one version per environment hash.
      const envVersion = sanitizeName(sub.environmentHash.replace(/^sha256:/, "")).slice(0, 32) || "1";
      const environmentId = `${wsId}/environments/${ENV_NAME}/versions/${envVersion}`;
      try {
        await arm.environmentVersions.get(rg, ws, ENV_NAME, envVersion);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        const conda = condaFile(sub.config);
        await arm.environmentVersions.createOrUpdate(rg, ws, ENV_NAME, envVersion, {
          properties: {
            image: sub.config.docker?.baseImage ?? this.config.defaultImage,
            ...(conda ? { condaFile: conda } : {}),
            description: `RunConfiguration environment ${sub.environmentHash}`,
          },
        });
      }

      // The runner and a script run with the environment's interpreter (`python` in Azure ML images).
      const python = sub.config.environment?.userManaged?.interpreterPath ?? "python";
      const job: CommandJob = {
        jobType: "Command",
        // Azure ML's command is a shell line: every argument quoted, nothing spliced raw. Azure ML
        // reports no exit code (a job is Completed or Failed): the last log line carries it.
        command: adoptCommand(python, sub.interpreterNeeded ? [python, ...sub.argv] : sub.argv),
        inputs: runnerInputs(datastore.name, digest),
        codeId,
        environmentId,
        computeId: `${wsId}/computes/${computeName}`,
        experimentName: sub.run.spec.experimentName,
        displayName: `${sub.run.metadata.name} attempt ${sub.number}`,
        environmentVariables: { ...(sub.config.environmentVariables ?? {}), AMLCOMPUTE_RUN_ID: sub.runId, AMLCOMPUTE_ATTEMPT: String(sub.number), ...adoptEnvironment(digest) },
        resources: { instanceCount: sub.config.nodeCount },
        ...(distribution(sub.config) ? { distribution: distribution(sub.config) } : {}),
        ...(sub.config.maxRunDurationSeconds ? { limits: { jobLimitsType: "Command", timeout: `PT${sub.config.maxRunDurationSeconds}S` } } : {}),
        tags: { "amlcompute.dev/run": `${sub.run.metadata.namespace ?? "default"}.${sub.run.metadata.name}`, "amlcompute.dev/attempt": String(sub.number) },
        properties: { "amlcompute.dev/run-uid": sub.run.metadata.uid ?? "" },
      };
      await putCommandJob(arm, { endpoint: this.config.armEndpoint, rg, ws, name: jobName }, job);
      ctx.log.info({ job: jobName, compute: computeName, workspace: ws }, "Submitted Azure ML command job");
      return { ...handle, codeId, environmentId };
    } catch (e) {
      throw classifyArmError(e, `submitting Azure ML job ${jobName}`);
    }
  }

  /**
   * The end of the job's user log. A job without a distribution writes user_logs/std_log.txt; a
   * distributed one (PyTorch, TensorFlow, Mpi) writes one std_log_process_NN.txt per process and
   * no std_log.txt, so the tail is rank 0's.
   */
  private async tail(arm: AzureMachineLearningWorkspaces, h: AmlHandle, where: { credential: ResolvedCredential; distributed: boolean }): Promise<string | undefined> {
    try {
      const { container } = await this.store(arm, { rg: h.resourceGroup, ws: h.workspace, credential: where.credential }, "workspaceartifactstore");
      const names = where.distributed ? ["std_log_process_00.txt", "std_log.txt"] : ["std_log.txt", "std_log_process_00.txt"];
      const blob = await firstExisting(names.map((n) => container.getBlobClient(`ExperimentRun/dcid.${h.jobName}/user_logs/${n}`)));
      if (!blob) return undefined;
      const props = await blob.getProperties();
      const size = props.contentLength ?? 0;
      if (size === 0) return "";
      const offset = Math.max(0, size - OUTPUT_TAIL_BYTES);
      const buf = await blob.downloadToBuffer(offset, size - offset);
      let text = buf.toString("utf8");
      if (offset > 0) text = text.slice(text.indexOf("\n") + 1);
      return text;
    } catch {
      return undefined; // logs are best effort: not written yet, or no access to the artifact store
    }
  }

  async observe(sub: Attempt<AmlHandle>, ctx: ProviderContext): Promise<RunObservation<AmlHandle>> {
    const h = sub.handle;
    if (!h) return { state: "Lost", reason: RunReason.Lost, message: "no Azure ML handle recorded for this attempt" };
    const arm = await this.arm(sub.target, ctx, h.subscriptionId);
    let job: JobBase;
    try {
      job = await arm.jobs.get(h.resourceGroup, h.workspace, h.jobName);
    } catch (e) {
      if (isNotFound(e)) {
        return { state: "Lost", reason: RunReason.Lost, message: `Azure ML job ${h.jobName} no longer exists in workspace ${h.workspace}`, links: { azureJobName: h.jobName, computeName: h.computeName } };
      }
      throw classifyArmError(e, `GET Azure ML job ${h.jobName}`);
    }
    const props = job.properties;
    const status = props.status;
    const { state, reason } = mapJobStatus(status);
    const studioUrl = props.services?.Studio?.endpoint ?? undefined;
    const links = { azureJobName: h.jobName, computeName: h.computeName, ...(studioUrl ? { studioUrl } : {}) };
    const terminal = state === "Succeeded" || state === "Failed";
    const log = state === "Running" || terminal
      ? await this.tail(arm, h, { credential: await this.clients.credentialFor(sub.target, ctx), distributed: distribution(sub.config) !== undefined })
      : undefined;
    // The exit code is the one the command's last log line carries; a job that never ran it has none.
    const marked = exitCodeFromLogs(log);
    // The runner refused the working directory Azure ML wrote (exit 86–88): nothing ran.
    const refusal = terminal ? runnerRefusal(log, marked) : undefined;
    const exitCode = terminal && !refusal ? marked ?? (status === "Completed" ? 0 : undefined) : undefined;
    const outputTail = log === undefined ? undefined : withoutMarker(log);
    return {
      state,
      reason: refusal ? refusal.reason as Reason : reason,
      message: refusal ? `nothing was run: ${refusal.message}` : `Azure ML job ${h.jobName} is ${status ?? "Unknown"}`,
      links,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(outputTail !== undefined ? { outputTail } : {}),
      ...(terminal ? {} : { pollAfterMs: this.config.jobPollMs }),
    };
  }

  async cancel(sub: Attempt<AmlHandle>, ctx: ProviderContext): Promise<void> {
    const h = sub.handle;
    if (!h) return;
    const arm = await this.arm(sub.target, ctx, h.subscriptionId);
    try {
      const job = await arm.jobs.get(h.resourceGroup, h.workspace, h.jobName);
      const s = job.properties.status;
      if (s === "Completed" || s === "Failed" || s === "Canceled" || s === "CancelRequested") return;
      await arm.jobs.beginCancel(h.resourceGroup, h.workspace, h.jobName); // one request; not awaited to the end
    } catch (e) {
      if (isNotFound(e)) return;
      throw classifyArmError(e, `cancel Azure ML job ${h.jobName}`);
    }
  }

  /**
   * Deletes the run-based compute of a finished run (exactly one DELETE; later calls watch it go).
   * Azure ML jobs themselves are run history and stay in the workspace.
   */
  private async releaseRunBasedCompute({ run, target, handle }: Attempt<AmlHandle>, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number }> {
    if (!run.spec.runBasedCompute && !handle?.runBasedCompute) return { done: true };
    const spec = this.spec(target);
    const arm = await this.arm(target, ctx, spec.workspace.subscriptionId);
    const ops = new ComputeOps(arm, spec.workspace.resourceGroup, spec.workspace.name);
    const name = handle?.computeName ?? runBasedComputeName(run);
    // Only the compute tagged with this run's uid is the run's to delete.
    const step = await ops.deleteOwned(name, ctx.now, { owned: (c) => c.tags?.[OWNER_UID_TAG] === run.metadata.uid });
    if (step.done) return { done: true };
    if (step.op) ctx.log.info({ compute: name }, "Deleting run-based compute");
    return { done: false, requeueAfterMs: this.config.operationPollMs };
  }

  /**
   * The ended job's outputs and logs from the workspace's artifact store into the run store
   * (job-outputs.ts), with result.json last; `done: false` while a large copy goes on. A job that
   * is not over yet (a cancel still in progress) is waited for: Azure ML uploads ./outputs at the end.
   */
  private async collectOutputs(a: Attempt<AmlHandle>, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number }> {
    const h = a.handle;
    if (!h || !a.storage) return { done: true };
    const arm = await this.arm(a.target, ctx, h.subscriptionId);
    let status: string | undefined;
    try {
      status = (await arm.jobs.get(h.resourceGroup, h.workspace, h.jobName)).properties.status;
    } catch (e) {
      if (isNotFound(e)) return { done: true }; // nothing left to copy from
      throw classifyArmError(e, `GET Azure ML job ${h.jobName}`);
    }
    if (status !== "Completed" && status !== "Failed" && status !== "Canceled") return { done: false, requeueAfterMs: this.config.jobPollMs };
    const credential = await this.clients.credentialFor(a.target, ctx);
    const log = await this.tail(arm, h, { credential, distributed: distribution(a.config) !== undefined });
    const exitCode = exitCodeFromLogs(log);
    const refusal = runnerRefusal(log, exitCode);
    try {
      const { container } = await this.store(arm, { rg: h.resourceGroup, ws: h.workspace, credential }, "workspaceartifactstore");
      const copied = await collectJobOutputs(container, a.storage, { jobName: h.jobName, status, ...(exitCode !== undefined ? { exitCode } : {}), ...(refusal ? { refusal } : {}) });
      if (copied.done) ctx.log.info({ job: h.jobName, files: copied.files, bytes: copied.bytes }, "copied the Azure ML job's outputs into the run store");
      return copied.done ? { done: true } : { done: false, requeueAfterMs: 0 };
    } catch (e) {
      throw classifyArmError(e, `copying the outputs of Azure ML job ${h.jobName}`);
    }
  }

  /**
   * RunExecutor.release: the ended attempt's outputs are copied into the run store; once the run
   * has finished (any outcome, cancel and deadline included) its run-based compute goes. A retry's
   * release of the previous attempt keeps the compute: the next attempt runs on it.
   */
  async release(a: Attempt<AmlHandle>, ctx: ProviderContext): Promise<{ done: boolean; requeueAfterMs?: number }> {
    const outputs = await this.collectOutputs(a, ctx);
    if (!outputs.done) return outputs;
    const phase = a.run.status?.phase;
    if (!phase || !TERMINAL_PHASES.includes(phase)) return { done: true };
    return this.releaseRunBasedCompute(a, ctx);
  }

  async cleanup(a: Attempt<AmlHandle>, ctx: ProviderContext): Promise<void> {
    const r = await this.releaseRunBasedCompute(a, ctx);
    if (!r.done) {
      throw new TransientError(`deleting run-based compute ${a.handle?.computeName ?? runBasedComputeName(a.run)}`, r.requeueAfterMs, { reason: TargetReason.Deleting });
    }
  }
}

/** The first blob of the list that exists (one HEAD each, in order). */
async function firstExisting<T extends { exists(): Promise<boolean> }>(blobs: readonly T[]): Promise<T | undefined> {
  for (const b of blobs) if (await b.exists()) return b;
  return undefined;
}
