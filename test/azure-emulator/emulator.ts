import { execFileSync, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, normalize, sep } from "node:path";
import {
  BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential, type ContainerClient,
} from "@azure/storage-blob";
import type { Operation } from "../contracts/index.js";
import { ContractGuard } from "./contract-guard.js";
import { federationRefusal, type FederatedCredential, type TrustedIssuer } from "./federation.js";
import { processLayout, startProcesses } from "./ml-job-processes.js";
import { generateTls, type EmulatorTls } from "./tls.js";

/**
 * An Azure Resource Manager emulator for Microsoft.MachineLearningServices (api-version 2022-10-01
 * shapes), plus the slice of Entra ID that @azure/identity's ClientSecretCredential talks to.
 * It behaves like ARM rather than like a stub: HTTPS with its own CA, bearer tokens it issued
 * itself, api-version checks, long-running operations (Azure-AsyncOperation + Location +
 * Retry-After), provisioning that progresses with time, a vCPU quota, 429/5xx fault injection,
 * ARM error bodies, and command jobs that really run (bash in a temp dir, code from Azurite).
 */

export interface EmulatorWorkspace {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location?: string;
}

export interface EmulatorAzurite {
  /** e.g. http://127.0.0.1:10000/devstoreaccount1 */
  readonly blobEndpoint: string;
  readonly accountName: string;
  readonly accountKey: string;
}

export interface EmulatorOptions {
  readonly tenantId?: string;
  /** Service principals that may get tokens. Default: one generated client. */
  readonly clients?: readonly { clientId: string; clientSecret: string }[];
  readonly workspaces?: readonly EmulatorWorkspace[];
  /** Accepted api-versions of Microsoft.MachineLearningServices. */
  readonly apiVersions?: readonly string[];
  /** Creating → Succeeded after this long (ms). Default 1500. */
  readonly provisioningMs?: number;
  /** Updating → Succeeded after this long (ms). Default 500. */
  readonly updatingMs?: number;
  /** Deleting → gone after this long (ms). Default 800. */
  readonly deletingMs?: number;
  /** An attach (PUT with properties.resourceId) goes Creating → Succeeded after this long (ms). Default 100. */
  readonly attachingMs?: number;
  /** A detach (DELETE ?underlyingResourceAction=Detach) goes Deleting → gone after this long (ms). Default 50. */
  readonly detachingMs?: number;
  /** Retry-After (seconds) on LRO responses. Default 1. */
  readonly retryAfterSeconds?: number;
  /** Regional dedicated vCPU quota checked on compute PUT (maxNodes × vCPUs of the size). Default 200. */
  readonly dedicatedCoreQuota?: number;
  /** Pause between job state changes (ms). Default 150. */
  readonly jobStepMs?: number;
  /**
   * How the workspace's datastores authenticate: a stored account key (default), a stored SAS
   * token, or None — identity-based access, where clients use their own Entra identity.
   */
  readonly datastoreCredentials?: "AccountKey" | "Sas" | "None";
  /** Blob storage behind the workspace datastores (Azurite). Needed for jobs. */
  readonly azurite?: EmulatorAzurite;
  /** TLS material to serve with (e.g. shared with an HTTPS Azurite, so one CA covers both). Default: generated. */
  readonly tls?: EmulatorTls;
  /** Further services on the same HTTPS server (databricks.ts, batch.ts); they see requests before ARM routing. */
  readonly services?: readonly EmulatedService[];
}

/** What the emulator lends a further service: its URL, blob storage, python, and token checks. */
export interface ServiceHost {
  readonly url: string;
  readonly azurite?: EmulatorAzurite;
  readonly python?: string;
  /** Why a bearer header is not a valid emulator-issued token for `audience`, or undefined when it is. */
  bearerError(authorization: string | undefined, audience: string): string | undefined;
}

export interface ServiceRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** A service answers the requests it recognises (returning true) and leaves the rest to ARM. */
export interface EmulatedService {
  start(host: ServiceHost): void;
  handle(req: ServiceRequest, res: ServerResponse): Promise<boolean>;
  close?(): Promise<void>;
  /** Answers that broke the service's published contract. */
  readonly contractViolations?: readonly string[];
}

export interface RequestRecord {
  readonly seq: number;
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  status: number;
}

export interface Fault {
  readonly method?: string;
  /** Substring (case-insensitive) or RegExp matched against the path. */
  readonly path?: string | RegExp;
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
  /** How many matching requests fail; default 1. Infinity for "until removed". */
  times?: number;
  readonly retryAfterSeconds?: number;
  /** Fail only this fraction of matching requests (0..1). */
  readonly probability?: number;
  /** Fail matching requests only until this time (epoch ms). */
  readonly until?: number;
}

const VM_SIZES: Record<string, number> = {
  STANDARD_D2_V2: 2, STANDARD_D3_V2: 4, STANDARD_D4_V2: 8, STANDARD_D11_V2: 2, STANDARD_D12_V2: 4,
  STANDARD_DS2_V2: 2, STANDARD_DS3_V2: 4, STANDARD_DS11_V2: 2, STANDARD_DS12_V2: 4, STANDARD_F4S_V2: 4,
  STANDARD_E4DS_V4: 4, STANDARD_NC6: 6, STANDARD_NC6S_V3: 6, STANDARD_NC24: 24, STANDARD_ND40RS_V2: 40,
};

const ARM_AUDIENCE = "https://management.azure.com";
/** The VM size Azure ML gives a compute cluster created without one. */
const DEFAULT_VM_SIZE = "STANDARD_DS3_V2";

const PROVIDER = "Microsoft.MachineLearningServices";

type ProvisioningState = "Creating" | "Updating" | "Succeeded" | "Failed" | "Deleting" | "Canceled";

interface ComputeRecord {
  key: string;
  ws: WorkspaceRecord;
  name: string;
  location: string;
  createdOn: string;
  modifiedOn: string;
  provisioningState: ProvisioningState;
  /** When the current transition completes (ms epoch). */
  settleAt: number;
  pendingFailure?: { code: string; message: string };
  provisioningErrors: { error: { code: string; message: string } }[];
  attached: boolean;
  resourceId?: string;
  computeType: string;
  description?: string;
  tags?: Record<string, string>;
  amlProps: Record<string, unknown>;
}

interface WorkspaceRecord {
  key: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  workspaceId: string;
  id: string;
}

interface OperationRecord {
  id: string;
  location: string;
  startTime: string;
  endTime?: string;
  /** Evaluated lazily on each poll. */
  check: () => { status: "InProgress" | "Succeeded" | "Failed" | "Canceled"; error?: { code: string; message: string } };
}

interface AssetRecord {
  id: string;
  name: string;
  version: string;
  properties: Record<string, unknown>;
  createdAt: string;
}

export type JobStatus =
  | "NotStarted" | "Queued" | "Preparing" | "Provisioning" | "Starting" | "Running" | "Finalizing"
  | "CancelRequested" | "Completed" | "Failed" | "Canceled" | "NotResponding" | "Paused" | "Unknown";

interface JobRecord {
  key: string;
  ws: WorkspaceRecord;
  name: string;
  body: Record<string, unknown>;
  status: JobStatus;
  createdAt: string;
  /** Exit codes of the processes, for tests only: Azure ML reports none. */
  exitCodes?: number[];
  /** Output of each process (rank 0 first); what the logs in the artifact store hold. */
  outputs: string[];
  children: ChildProcess[];
  cancelRequested: boolean;
  dir?: string;
  history: JobStatus[];
}

export interface EmulatorControls {
  readonly requests: readonly RequestRecord[];
  /** Requests matching a method and a path substring/RegExp (case-insensitive). */
  count(filter?: { method?: string; path?: string | RegExp; status?: number; since?: number }): number;
  clearLog(): void;
  addFault(f: Fault): Fault;
  clearFaults(): void;
  /** Next `times` ARM requests get 429 with Retry-After. */
  throttle(times: number, retryAfterSeconds?: number): Fault;
  /** Entra trusts this OIDC issuer (e.g. a cluster's service-account issuer and its JWKS) for federation. */
  trustIssuer(issuer: TrustedIssuer): void;
  /** A federated identity credential: tokens of `subject` from `issuer` sign in as app `clientId`. */
  federate(credential: FederatedCredential): void;
  /** Access tokens Entra issued to this app so far. */
  tokensIssuedTo(clientId: string): number;
  /**
   * A role assignment on its way: every ARM request whose path contains `path` (default: all of a
   * subscription's) answers 403 AuthorizationFailed, as ARM does for a principal without the role,
   * until `forMs` have passed.
   */
  roleAssignmentPropagating(forMs: number, path?: string | RegExp): Fault;
  /** ARM-side subscription limiter: more than `perSecond` (burst `burst`) requests → 429. */
  rateLimit(limit: { perSecond: number; burst: number } | undefined): void;
  /** The next create/update of this compute ends Failed with this error in provisioningErrors. */
  failProvisioning(computeName: string, error: { code: string; message: string }): void;
  /** Put a compute straight into the store (as if someone created it in the portal). */
  seedCompute(ws: EmulatorWorkspace, name: string, props: { vmSize?: string; minNodes?: number; maxNodes?: number; attached?: boolean; resourceId?: string; computeType?: string; properties?: Record<string, unknown> }): void;
  compute(ws: EmulatorWorkspace, name: string): Record<string, unknown> | undefined;
  /** The properties of a code version (by its ARM id), e.g. the codeUri a client registered. */
  codeVersion(ws: EmulatorWorkspace, id: string): { codeUri?: string } | undefined;
  /** A job as the emulator ran it; exitCodes are the processes' own, which Azure ML never reports. */
  job(ws: EmulatorWorkspace, name: string): { status: JobStatus; exitCodes?: number[]; output: string; outputs: string[]; history: JobStatus[]; body: Record<string, unknown> } | undefined;
  /** Number of tokens issued by the token endpoint. */
  readonly tokensIssued: number;
  /** How many requests were rejected with 429 so far. */
  readonly throttled: number;
  /** Answers of the emulator (ARM and the further services) that broke the published contract; tests assert none. */
  readonly contractViolations: readonly string[];
}

export interface Emulator {
  readonly url: string;
  readonly port: number;
  readonly caPem: string;
  readonly caPath: string;
  /** System roots + emulator CA (for NODE_EXTRA_CA_CERTS or a caBundlePath setting). */
  readonly bundlePath: string;
  readonly tenantId: string;
  readonly clients: readonly { clientId: string; clientSecret: string }[];
  readonly apiVersion: string;
  readonly controls: EmulatorControls;
  close(): Promise<void>;
}

interface ArmResult { status: number; body?: unknown; headers?: Record<string, string> }
interface Rq {
  method: string;
  ws: WorkspaceRecord;
  seg: string[];
  query: URLSearchParams;
  obj: Record<string, unknown>;
  apiVersion: string;
  kind: string;
}

class ArmError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** Signal a process group; a group that is already gone is fine. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");
const lc = (s: string) => s.toLowerCase();
const nowIso = () => new Date().toISOString();

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const tls: EmulatorTls = opts.tls ?? generateTls();
  const tenantId = opts.tenantId ?? randomUUID();
  const clients = opts.clients ?? [{ clientId: randomUUID(), clientSecret: randomBytes(18).toString("base64url") }];
  const trustedIssuers: TrustedIssuer[] = [];
  const federated: FederatedCredential[] = [];
  const tokensByClient = new Map<string, number>();
  const guard = new ContractGuard("azureml");
  const apiVersions = opts.apiVersions ?? guard.contract.apiVersions;
  const provisioningMs = opts.provisioningMs ?? 1500;
  const updatingMs = opts.updatingMs ?? 500;
  const attachingMs = opts.attachingMs ?? 100;
  const detachingMs = opts.detachingMs ?? 50;
  const deletingMs = opts.deletingMs ?? 800;
  const retryAfter = opts.retryAfterSeconds ?? 1;
  const coreQuota = opts.dedicatedCoreQuota ?? 200;
  const jobStepMs = opts.jobStepMs ?? 150;
  const signingKey = randomBytes(32);
  const pythonExe = findPython();
  const services = opts.services ?? [];

  const workspaces = new Map<string, WorkspaceRecord>();
  const computes = new Map<string, ComputeRecord>();
  const operations = new Map<string, OperationRecord>();
  const codes = new Map<string, AssetRecord>();
  const environments = new Map<string, AssetRecord>();
  const jobs = new Map<string, JobRecord>();
  const requests: RequestRecord[] = [];
  const faults: Fault[] = [];
  const failNext = new Map<string, { code: string; message: string }>();
  let limiter: { perSecond: number; burst: number; tokens: number; last: number } | undefined;
  let tokensIssued = 0;
  let throttled = 0;
  let seq = 0;
  let closed = false;
  let url = "";

  const wsKey = (sub: string, rg: string, name: string) => lc(`${sub}/${rg}/${name}`);
  const addWorkspace = (w: EmulatorWorkspace) => {
    const id = `/subscriptions/${w.subscriptionId}/resourceGroups/${w.resourceGroup}/providers/${PROVIDER}/workspaces/${w.name}`;
    workspaces.set(wsKey(w.subscriptionId, w.resourceGroup, w.name), {
      key: wsKey(w.subscriptionId, w.resourceGroup, w.name), subscriptionId: w.subscriptionId, resourceGroup: w.resourceGroup,
      name: w.name, location: w.location ?? "westeurope", workspaceId: randomUUID(), id,
    });
  };
  for (const w of opts.workspaces ?? [{ subscriptionId: "00000000-0000-0000-0000-000000000001", resourceGroup: "rg-ml", name: "ws-1" }]) addWorkspace(w);

  // ---------- blob storage (Azurite) ----------
  const blobService = opts.azurite
    ? new BlobServiceClient(opts.azurite.blobEndpoint, new StorageSharedKeyCredential(opts.azurite.accountName, opts.azurite.accountKey))
    : undefined;
  const defaultContainer = (ws: WorkspaceRecord) => `azureml-blobstore-${ws.workspaceId}`;
  const datastoreCredentials = opts.datastoreCredentials ?? "AccountKey";
  /** A container SAS (read, add, create, write, list) valid for a day, as a Sas datastore stores one. */
  const containerSas = (containerName: string): string => generateBlobSASQueryParameters({
    containerName, permissions: ContainerSASPermissions.parse("racwl"), expiresOn: new Date(Date.now() + 86_400_000), protocol: SASProtocol.HttpsAndHttp,
  }, new StorageSharedKeyCredential(opts.azurite!.accountName, opts.azurite!.accountKey)).toString();
  const ARTIFACT_CONTAINER = "azureml";
  const ensuredContainers = new Set<string>();
  const container = async (name: string): Promise<ContainerClient> => {
    if (!blobService) throw new ArmError(500, "InternalServerError", "the emulator was started without blob storage");
    const c = blobService.getContainerClient(name);
    if (!ensuredContainers.has(name)) {
      await c.createIfNotExists();
      ensuredContainers.add(name);
    }
    return c;
  };

  // ---------- tokens ----------
  const issueToken = (clientId: string, scope: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const aud = scope.replace(/\/\.default$/, "").replace(/\/$/, "");
    const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const payload = b64url(JSON.stringify({
      aud, iss: `https://sts.windows.net/${tenantId}/`, iat: now, nbf: now, exp: now + 3600,
      tid: tenantId, appid: clientId, oid: clientId, sub: clientId, idtyp: "app",
    }));
    const sig = b64url(createHmac("sha256", signingKey).update(`${header}.${payload}`).digest());
    tokensIssued++;
    return `${header}.${payload}.${sig}`;
  };
  const verifyToken = (auth: string | undefined, audience = ARM_AUDIENCE): void => {
    const challenge = { "WWW-Authenticate": `Bearer authorization_uri="${url}/${tenantId}", error="invalid_token"` };
    if (!auth?.startsWith("Bearer ")) {
      throw new ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", challenge);
    }
    const parts = auth.slice(7).split(".");
    const [h, p, s] = parts;
    if (parts.length !== 3 || !h || !p || !s) throw new ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge);
    const expected = createHmac("sha256", signingKey).update(`${h}.${p}`).digest();
    const got = Buffer.from(s, "base64url");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge);
    }
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as { aud: string; exp: number };
    if (claims.exp * 1000 < Date.now()) throw new ArmError(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.", challenge);
    if (lc(claims.aud) !== audience) {
      throw new ArmError(401, "InvalidAuthenticationTokenAudience", `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences '${audience}/','${audience}'.`, challenge);
    }
  };

  // ---------- compute state ----------
  const tick = (c: ComputeRecord) => {
    if (Date.now() < c.settleAt) return;
    if (c.provisioningState === "Creating" || c.provisioningState === "Updating") {
      if (c.pendingFailure) {
        c.provisioningState = "Failed";
        c.provisioningErrors = [{ error: c.pendingFailure }];
        c.pendingFailure = undefined;
      } else {
        c.provisioningState = "Succeeded";
        c.provisioningErrors = [];
      }
      c.modifiedOn = nowIso();
    } else if (c.provisioningState === "Deleting") {
      computes.delete(c.key);
    }
  };
  const computeKey = (ws: WorkspaceRecord, name: string) => `${ws.key}/${lc(name)}`;
  const getCompute = (ws: WorkspaceRecord, name: string) => {
    const c = computes.get(computeKey(ws, name));
    if (c) tick(c);
    return computes.get(computeKey(ws, name));
  };
  const runningDemand = (c: ComputeRecord) => {
    let n = 0;
    for (const j of jobs.values()) {
      const compute = String((j.body.properties as Record<string, unknown>).computeId ?? "");
      if (lc(compute).endsWith(`/computes/${lc(c.name)}`) && j.ws === c.ws && ["Starting", "Running", "Finalizing", "Preparing"].includes(j.status)) {
        const res = (j.body.properties as { resources?: { instanceCount?: number } }).resources;
        n += res?.instanceCount ?? 1;
      }
    }
    return n;
  };
  const computeView = (c: ComputeRecord): Record<string, unknown> => {
    const id = `${c.ws.id}/computes/${c.name}`;
    const props: Record<string, unknown> = { ...c.amlProps };
    if (props.administratorAccount && typeof props.administratorAccount === "object") {
      // ARM never returns attach credentials: only the user name comes back.
      const { username } = props.administratorAccount as { username?: string };
      props.administratorAccount = { username: username ?? null, password: null, publicKeyData: null, privateKeyData: null };
    }
    if (c.computeType === "AmlCompute") {
      const scale = (c.amlProps.scaleSettings ?? { maxNodeCount: 1, minNodeCount: 0 }) as { maxNodeCount: number; minNodeCount?: number };
      const ready = c.provisioningState === "Succeeded" || c.provisioningState === "Updating";
      const running = ready ? Math.min(runningDemand(c), scale.maxNodeCount) : 0;
      const target = ready ? Math.max(scale.minNodeCount ?? 0, running) : 0;
      Object.assign(props, {
        osType: "Linux",
        allocationState: "Steady",
        allocationStateTransitionTime: c.modifiedOn,
        errors: null,
        currentNodeCount: target,
        targetNodeCount: target,
        nodeStateCounts: {
          idleNodeCount: target - running, runningNodeCount: running, preparingNodeCount: 0,
          unusableNodeCount: 0, leavingNodeCount: 0, preemptedNodeCount: 0,
        },
      });
    }
    return {
      id,
      name: c.name,
      type: `${PROVIDER}/workspaces/computes`,
      location: c.location,
      tags: c.tags ?? {},
      properties: {
        computeType: c.computeType,
        computeLocation: c.location,
        provisioningState: c.provisioningState,
        description: c.description ?? null,
        createdOn: c.createdOn,
        modifiedOn: c.modifiedOn,
        resourceId: c.resourceId ?? null,
        provisioningErrors: c.provisioningErrors.length ? c.provisioningErrors : null,
        isAttachedCompute: c.attached,
        disableLocalAuth: true,
        properties: props,
      },
    };
  };

  const newOperation = (ws: WorkspaceRecord, check: OperationRecord["check"], apiVersion: string) => {
    const id = randomUUID();
    const op: OperationRecord = { id, location: ws.location, startTime: nowIso(), check };
    operations.set(id, op);
    const base = `${url}/subscriptions/${ws.subscriptionId}/providers/${PROVIDER}/locations/${ws.location}`;
    return {
      "Azure-AsyncOperation": `${base}/computeOperationsStatus/${id}?api-version=${apiVersion}&service=new`,
      Location: `${base}/computeOperationsResults/${id}?api-version=${apiVersion}&service=new`,
      "Retry-After": String(retryAfter),
    };
  };
  const computeOpCheck = (ws: WorkspaceRecord, name: string, goal: "exists" | "gone"): OperationRecord["check"] => () => {
    const c = getCompute(ws, name);
    if (goal === "gone") return c ? { status: "InProgress" } : { status: "Succeeded" };
    if (!c) return { status: "Failed", error: { code: "ResourceNotFound", message: `Compute ${name} was deleted during the operation.` } };
    if (c.provisioningState === "Succeeded") return { status: "Succeeded" };
    if (c.provisioningState === "Failed") {
      const e = c.provisioningErrors[0]?.error ?? { code: "ProvisioningFailed", message: "Compute provisioning failed." };
      return { status: "Failed", error: e };
    }
    return { status: "InProgress" };
  };

  const validateAmlProps = (name: string, props: Record<string, unknown>, ws: WorkspaceRecord, existing?: ComputeRecord) => {
    const vmSize = String(props.vmSize ?? existing?.amlProps.vmSize ?? DEFAULT_VM_SIZE);
    const cores = VM_SIZES[vmSize.toUpperCase()];
    if (cores === undefined) {
      throw new ArmError(400, "BadArgument", `The specified vm size '${vmSize}' is not supported in region '${ws.location}'. Supported vm sizes: ${Object.keys(VM_SIZES).join(", ")}.`);
    }
    const scale = props.scaleSettings as { maxNodeCount?: number; minNodeCount?: number } | undefined;
    const max = scale?.maxNodeCount ?? 1;
    const min = scale?.minNodeCount ?? 0;
    if (min > max) throw new ArmError(400, "BadArgument", `minNodeCount (${min}) must be less than or equal to maxNodeCount (${max}).`);
    if (props.vmPriority !== "LowPriority") {
      let inUse = 0;
      for (const c of computes.values()) {
        if (c === existing || c.ws.location !== ws.location || c.computeType !== "AmlCompute" || c.attached) continue;
        if (c.amlProps.vmPriority === "LowPriority") continue;
        const s = c.amlProps.scaleSettings as { maxNodeCount?: number } | undefined;
        inUse += (s?.maxNodeCount ?? 1) * (VM_SIZES[String(c.amlProps.vmSize).toUpperCase()] ?? 0);
      }
      const requested = max * cores;
      if (inUse + requested > coreQuota) {
        throw new ArmError(400, "QuotaExceeded", `Operation results in exceeding quota limits of Total Cluster Dedicated Regional vCPUs. Maximum allowed: ${coreQuota}, Current in use: ${inUse}, Additional requested: ${requested}. Please see https://aka.ms/AzureMachineLearningQuota to request a quota increase for compute ${name}.`);
      }
    }
  };

  /**
   * Computes Azure ML only attaches (never creates) need the ARM id of the resource they stand
   * for, of the right provider type; re-attaching a name to another resource is refused. For
   * HDInsight, properties.properties is HDInsightProperties {address, sshPort, administratorAccount}.
   */
  const ATTACH_ONLY: Record<string, RegExp> = {
    HDInsight: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.HDInsight\/clusters\/[^/]+$/i,
    VirtualMachine: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/virtualMachines\/[^/]+$/i,
    Databricks: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Databricks\/workspaces\/[^/]+$/i,
  };
  const validateAttach = (name: string, computeType: string, { resourceId, props }: { resourceId: unknown; props: Record<string, unknown> }, existing?: ComputeRecord) => {
    const idPattern = ATTACH_ONLY[computeType];
    if (!idPattern) return;
    if (typeof resourceId !== "string" || !resourceId) {
      throw new ArmError(400, "BadRequest", `properties.resourceId is required to attach a compute of type ${computeType}.`);
    }
    if (!idPattern.test(resourceId)) {
      throw new ArmError(400, "BadRequest", `properties.resourceId '${resourceId}' is not a valid resource id for compute type ${computeType}.`);
    }
    if (existing?.resourceId && lc(existing.resourceId) !== lc(resourceId)) {
      throw new ArmError(409, "Conflict", `Compute ${name} is already attached to ${existing.resourceId}; detach it first.`);
    }
    if (computeType === "HDInsight") {
      const port = props.sshPort;
      if (port !== undefined && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)) {
        throw new ArmError(400, "BadRequest", "properties.properties.sshPort must be an integer between 1 and 65535.");
      }
      if (props.address !== undefined && typeof props.address !== "string") {
        throw new ArmError(400, "BadRequest", "properties.properties.address must be a string.");
      }
    }
  };

  const checkImmutable = (existing: ComputeRecord, props: Record<string, unknown>) => {
    for (const f of ["vmSize", "vmPriority"] as const) {
      if (props[f] !== undefined && lc(String(props[f])) !== lc(String(existing.amlProps[f] ?? ""))) {
        throw new ArmError(400, "BadRequest", `Updating ${f} of an existing AmlCompute is not supported. Delete and recreate the compute.`);
      }
    }
  };

  // ---------- jobs ----------
  const studioUrl = (ws: WorkspaceRecord, job: string) =>
    `https://ml.azure.com/runs/${encodeURIComponent(job)}?wsid=${encodeURIComponent(ws.id)}&tid=${tenantId}`;
  const jobView = (j: JobRecord): Record<string, unknown> => {
    const props = { ...(j.body.properties as Record<string, unknown>) };
    const userProps = { ...((props.properties as Record<string, string>) ?? {}) };
    return {
      id: `${j.ws.id}/jobs/${j.name}`,
      name: j.name,
      type: `${PROVIDER}/workspaces/jobs`,
      systemData: { createdAt: j.createdAt, createdBy: "emulator", createdByType: "Application" },
      properties: {
        ...props,
        properties: userProps,
        status: j.status,
        services: {
          Studio: { jobServiceType: "Studio", endpoint: studioUrl(j.ws, j.name), status: null },
          Tracking: { jobServiceType: "Tracking", endpoint: `azureml://${j.ws.location}.api.azureml.ms/mlflow/v1.0${j.ws.id}`, status: null },
        },
      },
    };
  };
  const logPath = (job: string, name: string) => `ExperimentRun/dcid.${job}/user_logs/${name}`;
  const setStatus = (j: JobRecord, s: JobStatus) => {
    if (j.status === s) return;
    j.status = s;
    j.history.push(s);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const uploadLog = async (j: JobRecord) => {
    if (!blobService) return;
    const c = await container(ARTIFACT_CONTAINER);
    const layout = processLayout(j.body.properties as Parameters<typeof processLayout>[0]);
    await Promise.all(j.outputs.map((text, rank) => c.getBlockBlobClient(logPath(j.name, layout.logName(rank))).upload(text, Buffer.byteLength(text))));
  };
  const resolveAsset = (map: Map<string, AssetRecord>, id: string): AssetRecord | undefined => map.get(lc(id));
  const downloadCode = async (codeUri: string, dir: string) => {
    if (!opts.azurite) throw new Error("no blob storage configured");
    // The service reads codeUri as a storage path with its own credentials; a query (a SAS) is no part of a path.
    if (new URL(codeUri).search) throw new Error(`codeUri ${codeUri.replace(/\?.*$/, "?…")} carries a query string; it must be a plain storage URL`);
    const base = opts.azurite.blobEndpoint.replace(/\/$/, "");
    if (!codeUri.startsWith(base + "/")) throw new Error(`codeUri ${codeUri} is not in the workspace storage account`);
    const rest = codeUri.slice(base.length + 1);
    const slash = rest.indexOf("/");
    const containerName = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? "" : decodeURIComponent(rest.slice(slash + 1)).replace(/\/?$/, "/");
    const c = await container(containerName);
    let n = 0;
    for await (const item of c.listBlobsFlat({ prefix: prefix === "/" ? "" : prefix, includeMetadata: true })) {
      const rel = normalize(item.name.slice(prefix === "/" ? 0 : prefix.length));
      if (rel.startsWith("..") || rel.startsWith("/")) continue;
      const dest = join(dir, rel);
      mkdirSync(dirname(dest), { recursive: true });
      const buf = await c.getBlobClient(item.name).downloadToBuffer();
      writeFileSync(dest, buf, { mode: item.metadata?.mode ? parseInt(item.metadata.mode, 8) : 0o644 });
      n++;
    }
    if (n === 0) throw new Error(`no files under ${codeUri}`);
  };
  /** `azureml://datastores/<name>/paths/<path>` → the blob container of that datastore and the blob name. */
  const datastoreBlob = (ws: WorkspaceRecord, uri: string): { container: string; name: string } => {
    const m = /^azureml:\/\/datastores\/([^/]+)\/paths\/(.+)$/.exec(uri);
    if (!m) throw new Error(`input uri ${uri} is not an azureml://datastores/<name>/paths/<path> URI`);
    const store = m[1] === "workspaceblobstore" ? defaultContainer(ws) : m[1] === "workspaceartifactstore" ? ARTIFACT_CONTAINER : undefined;
    if (!store) throw new Error(`datastore ${m[1]} not found`);
    return { container: store, name: decodeURIComponent(m[2]!) };
  };
  /**
   * The job's uri_file inputs (download mode) are fetched with the datastore's own credentials into
   * the job's directory, and \${{inputs.<name>}} in the command becomes the file's path.
   */
  const resolveInputs = async (j: JobRecord, command: string): Promise<string> => {
    const inputs = ((j.body.properties as Record<string, unknown>).inputs ?? {}) as Record<string, { jobInputType?: string; uri?: string }>;
    let out = command;
    for (const [name, input] of Object.entries(inputs)) {
      if (input.jobInputType !== "uri_file" || !input.uri) throw new Error(`input ${name}: the emulator supports uri_file inputs only`);
      const { container: cname, name: blob } = datastoreBlob(j.ws, input.uri);
      const dest = join(j.dir!, "inputs", name, blob.split("/").pop() ?? name);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, await (await container(cname)).getBlobClient(blob).downloadToBuffer());
      out = out.split(`\${{inputs.${name}}}`).join(dest);
    }
    return out;
  };
  const uploadOutputs = async (j: JobRecord, codeDir: string) => {
    const root = join(codeDir, "outputs");
    if (!blobService || !existsSync(root)) return;
    const c = await container(ARTIFACT_CONTAINER);
    for (const rel of readdirSync(root, { recursive: true, encoding: "utf8" })) {
      const full = join(root, rel);
      if (!lstatSync(full).isFile()) continue;
      await c.getBlockBlobClient(`ExperimentRun/dcid.${j.name}/outputs/${rel.split(sep).join("/")}`).uploadFile(full);
    }
  };
  const runJob = async (j: JobRecord) => {
    const props = j.body.properties as Record<string, unknown>;
    const append = (s: string, rank = 0) => {
      const text = (j.outputs[rank] ?? "") + s;
      j.outputs[rank] = text.length > 1_000_000 ? text.slice(-1_000_000) : text;
    };
    const fail = async (msg: string) => {
      append(`\n${msg}\n`);
      setStatus(j, "Failed");
      await uploadLog(j).catch(() => undefined);
    };
    try {
      await sleep(jobStepMs);
      if (j.cancelRequested) return setStatus(j, "Canceled");
      setStatus(j, "Queued");
      // Wait until the compute is usable (a run-based cluster may still be Creating).
      const computeName = String(props.computeId ?? "").split("/").pop() ?? "";
      for (;;) {
        if (closed || j.cancelRequested) return setStatus(j, "Canceled");
        const c = getCompute(j.ws, computeName);
        if (!c) return await fail(`UserError: compute '${computeName}' does not exist in the workspace.`);
        if (c.provisioningState === "Failed") return await fail(`UserError: compute '${computeName}' is in state Failed.`);
        if (c.provisioningState === "Succeeded" || c.provisioningState === "Updating") break;
        await sleep(jobStepMs);
      }
      setStatus(j, "Preparing");
      j.dir = mkdtempSync(join(tmpdir(), `aml-job-${j.name.slice(0, 40)}-`));
      const codeDir = join(j.dir, "code");
      mkdirSync(codeDir);
      if (props.codeId) {
        const code = resolveAsset(codes, String(props.codeId));
        if (!code) return await fail(`UserError: code asset ${String(props.codeId)} not found.`);
        try {
          await downloadCode(String(code.properties.codeUri), codeDir);
        } catch (e) {
          return await fail(`UserError: could not download the code snapshot: ${(e as Error).message}`);
        }
      }
      let command: string;
      try {
        command = await resolveInputs(j, String(props.command));
      } catch (e) {
        return await fail(`UserError: could not download the job's inputs: ${(e as Error).message}`);
      }
      await sleep(jobStepMs);
      if (j.cancelRequested) return setStatus(j, "Canceled");
      setStatus(j, "Starting");
      await sleep(jobStepMs);
      if (j.cancelRequested) return setStatus(j, "Canceled");
      const envVars = (props.environmentVariables ?? {}) as Record<string, string>;
      // The environment image provides `python`; here it is the machine's python3.
      const envBin = join(j.dir, "env-bin");
      mkdirSync(envBin);
      if (pythonExe) symlinkSync(pythonExe, join(envBin, "python"));
      const layout = processLayout(props as Parameters<typeof processLayout>[0]);
      j.outputs = Array.from({ length: layout.count }, (_, rank) => j.outputs[rank] ?? "");
      const { children, exitCodes } = startProcesses({
        command, cwd: codeDir, count: layout.count, onOutput: (rank, text) => append(text, rank),
        env: {
          PATH: `${envBin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
          HOME: j.dir,
          LANG: "C.UTF-8",
          PYTHONUNBUFFERED: "1",
          AZUREML_RUN_ID: j.name,
          AZUREML_EXPERIMENT_NAME: String(props.experimentName ?? "Default"),
          AZUREML_CR_COMPUTE: computeName,
          ...envVars,
        },
      });
      j.children = children;
      setStatus(j, "Running");
      const timer = setInterval(() => void uploadLog(j).catch(() => undefined), 1000);
      const timeout = (props.limits as { timeout?: string } | undefined)?.timeout;
      const limitMs = timeout ? isoDurationMs(timeout) : undefined;
      const killer = limitMs ? setTimeout(() => { for (const c of children) killGroup(c.pid, "SIGKILL"); }, limitMs) : undefined;
      const exited = await exitCodes;
      clearInterval(timer);
      if (killer) clearTimeout(killer);
      j.children = [];
      // Like the service: whatever the script left in ./outputs goes to the artifact store, whatever the outcome.
      await uploadOutputs(j, codeDir).catch((e: unknown) => append(`\nWarning: outputs were not uploaded: ${(e as Error).message}\n`));
      if (j.cancelRequested) {
        await uploadLog(j).catch(() => undefined);
        return setStatus(j, "Canceled");
      }
      j.exitCodes = exited;
      setStatus(j, "Finalizing");
      await uploadLog(j).catch(() => undefined);
      await sleep(jobStepMs);
      // Azure ML reports the outcome as the job status only: no exit code, nothing added to the user's log.
      setStatus(j, exited.every((c) => c === 0) ? "Completed" : "Failed");
    } catch (e) {
      await fail(`SystemError: ${(e as Error).message}`);
    } finally {
      if (j.dir) rmSync(j.dir, { recursive: true, force: true });
    }
  };

  // ---------- routing ----------
  const wsRoute = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)(\/.*)?$/i;
  const opRoute = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/locations\/([^/]+)\/(computeOperationsStatus|computeOperationsResults|jobOperationsResults)\/([^/]+)$/i;

  const computesRoute = async ({ method, ws, seg, query, obj, apiVersion }: Rq): Promise<ArmResult> => {
    if (seg.length === 1) {
      if (method !== "GET") throw new ArmError(405, "MethodNotAllowed", "Method not allowed.");
      const value = [...computes.values()].filter((c) => c.ws === ws).map((c) => (tick(c), c)).filter((c) => computes.has(c.key)).map(computeView);
      return { status: 200, body: { value } };
    }
    const name = seg[1]!;
    if (seg.length === 3 && lc(seg[2]!) === "listnodes" && method === "POST") {
      const c = getCompute(ws, name);
      if (!c) throw new ArmError(404, "ResourceNotFound", `Compute ${name} not found.`);
      const v = computeView(c).properties as { properties: { currentNodeCount?: number } };
      const nodes = Array.from({ length: v.properties.currentNodeCount ?? 0 }, (_, i) => ({ nodeId: `tvmps_${i}`, privateIpAddress: `10.0.0.${i + 4}`, port: 50000 + i, nodeState: "idle" }));
      return { status: 200, body: { nodes } };
    }
    if (seg.length !== 2) throw new ArmError(404, "NotFound", "Not found.");
    const existing = getCompute(ws, name);
    if (method === "GET") {
      if (!existing) throw new ArmError(404, "ResourceNotFound", `The Resource '${PROVIDER}/workspaces/${ws.name}/computes/${name}' under resource group '${ws.resourceGroup}' was not found.`);
      return { status: 200, body: computeView(existing) };
    }
    if (method === "PUT" || method === "PATCH") {
      if (existing && ["Creating", "Updating", "Deleting"].includes(existing.provisioningState)) {
        throw new ArmError(409, "Conflict", `Compute ${name} is in state ${existing.provisioningState}; another operation is in progress.`);
      }
      let props: Record<string, unknown>;
      let computeType: string;
      if (method === "PATCH") {
        if (!existing) throw new ArmError(404, "ResourceNotFound", `Compute ${name} not found.`);
        // ClusterUpdateParameters: { properties: { properties: { scaleSettings } } }
        const inner = (obj.properties as { properties?: { scaleSettings?: Record<string, unknown> } } | undefined)?.properties;
        const scale = inner?.scaleSettings;
        if (!scale) throw new ArmError(400, "BadRequest", "properties.properties.scaleSettings is required.");
        props = { ...existing.amlProps, scaleSettings: scale };
        computeType = existing.computeType;
      } else {
        const p = obj.properties as Record<string, unknown> | undefined;
        if (!p?.computeType) throw new ArmError(400, "BadRequest", "properties.computeType is required.");
        computeType = String(p.computeType);
        props = (p.properties ?? {}) as Record<string, unknown>;
        // What the service fills in for an AmlCompute created without them.
        if (computeType === "AmlCompute" && !p.resourceId) props = { vmSize: DEFAULT_VM_SIZE, vmPriority: "Dedicated", osType: "Linux", ...props };
        if (existing && existing.computeType !== computeType) {
          throw new ArmError(400, "BadRequest", `Compute ${name} already exists with type ${existing.computeType}.`);
        }
        if (existing && computeType === "AmlCompute") checkImmutable(existing, props);
      }
      if (computeType === "AmlCompute" && !(obj.properties as { resourceId?: string } | undefined)?.resourceId) validateAmlProps(name, props, ws, existing);
      if (method === "PUT") validateAttach(name, computeType, { resourceId: (obj.properties as { resourceId?: unknown } | undefined)?.resourceId, props }, existing);
      const failure = failNext.get(lc(name));
      failNext.delete(lc(name));
      const resourceId = (obj.properties as { resourceId?: string } | undefined)?.resourceId;
      if (existing) {
        existing.amlProps = { ...existing.amlProps, ...props };
        existing.provisioningState = "Updating";
        existing.settleAt = Date.now() + updatingMs;
        existing.pendingFailure = failure;
        existing.modifiedOn = nowIso();
        // An update (PUT on an existing compute, or Compute_Update) is documented as 200 with the
        // compute and no operation headers: the client watches provisioningState on the resource.
        return { status: 200, body: computeView(existing) };
      }
      const c: ComputeRecord = {
        key: computeKey(ws, name), ws, name, location: String(obj.location ?? ws.location), createdOn: nowIso(), modifiedOn: nowIso(),
        provisioningState: "Creating", settleAt: Date.now() + (resourceId ? attachingMs : provisioningMs), pendingFailure: failure,
        provisioningErrors: [], attached: Boolean(resourceId), resourceId, computeType,
        description: (obj.properties as { description?: string } | undefined)?.description,
        tags: obj.tags as Record<string, string> | undefined, amlProps: props,
      };
      computes.set(c.key, c);
      const headers = newOperation(ws, computeOpCheck(ws, name, "exists"), apiVersion);
      return { status: 201, headers, body: computeView(c) };
    }
    if (method === "DELETE") {
      const action = query.get("underlyingResourceAction");
      if (action !== "Delete" && action !== "Detach") {
        throw new ArmError(400, "BadRequest", "The query parameter underlyingResourceAction is required and must be 'Delete' or 'Detach'.");
      }
      if (!existing) return { status: 204 };
      if (action === "Detach" && !existing.attached) {
        throw new ArmError(400, "BadRequest", `Compute ${name} of type ${existing.computeType} was created by Azure Machine Learning and cannot be detached; use underlyingResourceAction=Delete.`);
      }
      if (existing.provisioningState !== "Deleting") {
        existing.provisioningState = "Deleting";
        existing.settleAt = Date.now() + (action === "Detach" ? detachingMs : deletingMs);
      }
      const headers = newOperation(ws, computeOpCheck(ws, name, "gone"), apiVersion);
      return { status: 202, headers };
    }
    throw new ArmError(405, "MethodNotAllowed", `${method} not allowed.`);
  };

  const assetsRoute = async ({ method, ws, seg, obj, kind }: Rq): Promise<ArmResult> => {
    const map = kind === "codes" ? codes : environments;
    if (seg.length !== 4 || lc(seg[2]!) !== "versions") throw new ArmError(404, "NotFound", "Not found.");
    const name = seg[1]!;
    const version = seg[3]!;
    const id = `${ws.id}/${kind}/${name}/versions/${version}`;
    const view = (a: AssetRecord) => ({
      id: a.id, name: a.version, type: `${PROVIDER}/workspaces/${kind}/versions`,
      systemData: { createdAt: a.createdAt, createdBy: "emulator", createdByType: "Application" },
      properties: a.properties,
    });
    const existing = map.get(lc(id));
    if (method === "GET") {
      if (!existing) throw new ArmError(404, "UserError", `${kind === "codes" ? "Code" : "Environment"} ${name}:${version} not found in workspace ${ws.name}.`);
      return { status: 200, body: view(existing) };
    }
    if (method === "PUT") {
      const p = (obj.properties ?? {}) as Record<string, unknown>;
      if (kind === "codes" && !p.codeUri) throw new ArmError(400, "UserError", "properties.codeUri is required.");
      if (kind === "environments" && !p.image && !p.build) throw new ArmError(400, "UserError", "One of properties.image or properties.build is required.");
      if (existing) {
        const key = kind === "codes" ? "codeUri" : "image";
        if (existing.properties[key] !== p[key] || (kind === "environments" && existing.properties.condaFile !== p.condaFile)) {
          throw new ArmError(409, "UserError", `${name}:${version} already exists with different content; asset versions are immutable.`);
        }
        return { status: 200, body: view(existing) };
      }
      // 2022-10-01 asset versions carry no provisioningState; the service fills in what it defaults.
      const props = kind === "environments" ? { ...p, environmentType: "UserCreated", osType: p.osType ?? "Linux" } : { ...p };
      const a: AssetRecord = { id, name, version, properties: props, createdAt: nowIso() };
      map.set(lc(id), a);
      return { status: 201, body: view(a) };
    }
    throw new ArmError(405, "MethodNotAllowed", `${method} not allowed.`);
  };

  const datastoresRoute = async ({ method, ws, seg, query }: Rq): Promise<ArmResult> => {
    if (!opts.azurite) throw new ArmError(404, "UserError", "This workspace has no datastores (emulator started without blob storage).");
    const stores = [
      { name: "workspaceblobstore", container: defaultContainer(ws), isDefault: true },
      { name: "workspaceartifactstore", container: ARTIFACT_CONTAINER, isDefault: false },
    ];
    const view = (s: (typeof stores)[number]) => ({
      id: `${ws.id}/datastores/${s.name}`, name: s.name, type: `${PROVIDER}/workspaces/datastores`,
      properties: {
        datastoreType: "AzureBlob", accountName: opts.azurite!.accountName, containerName: s.container,
        endpoint: "core.windows.net", protocol: "https", serviceDataAccessAuthIdentity: "None",
        isDefault: s.isDefault, credentials: { credentialsType: datastoreCredentials }, tags: {}, properties: {},
      },
    });
    if (seg.length === 1 && method === "GET") {
      const onlyDefault = query.get("isDefault");
      const listed = stores.filter((s) => onlyDefault === null || String(s.isDefault) === onlyDefault);
      // A workspace's datastore containers exist from the workspace's creation on.
      for (const s of listed) await container(s.container);
      return { status: 200, body: { value: listed.map(view) } };
    }
    const s = stores.find((x) => x.name === seg[1]);
    if (!s) throw new ArmError(404, "UserError", `Datastore ${seg[1]} not found.`);
    await container(s.container);
    if (seg.length === 2 && method === "GET") return { status: 200, body: view(s) };
    if (seg.length === 3 && lc(seg[2]!) === "listsecrets" && method === "POST") {
      if (datastoreCredentials === "None") {
        // Identity-based access: there is no stored secret (SecretsType has no "None"); clients use their own identity.
        throw new ArmError(400, "UserError", `Datastore ${s.name} uses identity-based data access (credentialsType None) and has no secrets to list.`);
      }
      if (datastoreCredentials === "Sas") return { status: 200, body: { secretsType: "Sas", sasToken: containerSas(s.container) } };
      return { status: 200, body: { secretsType: "AccountKey", key: opts.azurite.accountKey } };
    }
    throw new ArmError(404, "NotFound", "Not found.");
  };

  const jobsRoute = async ({ method, ws, seg, obj, apiVersion }: Rq): Promise<ArmResult> => {
    if (seg.length === 1 && method === "GET") {
      return { status: 200, body: { value: [...jobs.values()].filter((j) => j.ws === ws).map(jobView) } };
    }
    const name = seg[1]!;
    const key = `${ws.key}/${lc(name)}`;
    const existing = jobs.get(key);
    if (seg.length === 3 && lc(seg[2]!) === "cancel" && method === "POST") {
      if (!existing) throw new ArmError(404, "UserError", `Job ${name} not found.`);
      if (!["Completed", "Failed", "Canceled"].includes(existing.status)) {
        existing.cancelRequested = true;
        setStatus(existing, "CancelRequested");
        for (const c of existing.children) killGroup(c.pid, "SIGTERM");
      }
      const opId = randomUUID();
      operations.set(opId, {
        id: opId, location: ws.location, startTime: nowIso(),
        check: () => (["Canceled", "Completed", "Failed"].includes(existing.status) ? { status: "Succeeded" } : { status: "InProgress" }),
      });
      return {
        status: 202,
        headers: {
          Location: `${url}/subscriptions/${ws.subscriptionId}/providers/${PROVIDER}/locations/${ws.location}/jobOperationsResults/${opId}?api-version=${apiVersion}`,
          // Jobs_Cancel documents Retry-After between 10 and 600 seconds.
          "Retry-After": String(Math.min(600, Math.max(10, retryAfter))),
        },
      };
    }
    if (seg.length !== 2) throw new ArmError(404, "NotFound", "Not found.");
    if (method === "GET") {
      if (!existing) throw new ArmError(404, "UserError", `Job ${name} not found in workspace ${ws.name}.`);
      return { status: 200, body: jobView(existing) };
    }
    if (method === "PUT") {
      if (existing) {
        // Azure ML does not allow changing a submitted job; a repeat PUT returns it unchanged.
        return { status: 200, body: jobView(existing) };
      }
      const p = (obj.properties ?? {}) as Record<string, unknown>;
      if (p.jobType !== "Command") throw new ArmError(400, "UserError", `jobType ${String(p.jobType)} is not supported by the emulator (Command only).`);
      if (!p.command) throw new ArmError(400, "UserError", "properties.command is required.");
      if (!p.environmentId || !resolveAsset(environments, String(p.environmentId))) {
        throw new ArmError(400, "UserError", `Environment ${String(p.environmentId)} not found.`);
      }
      if (p.codeId && !resolveAsset(codes, String(p.codeId))) throw new ArmError(400, "UserError", `Code ${String(p.codeId)} not found.`);
      const computeName = String(p.computeId ?? "").split("/").pop() ?? "";
      if (!computeName || !getCompute(ws, computeName)) throw new ArmError(400, "UserError", `Compute ${computeName || "(none)"} not found in workspace ${ws.name}.`);
      const j: JobRecord = { key, ws, name, body: { properties: p }, status: "NotStarted", createdAt: nowIso(), outputs: [""], children: [], cancelRequested: false, history: ["NotStarted"] };
      jobs.set(key, j);
      void runJob(j);
      return { status: 201, body: jobView(j) };
    }
    throw new ArmError(405, "MethodNotAllowed", `${method} not allowed.`);
  };

  const arm = async (method: string, path: string, query: URLSearchParams, body: unknown): Promise<ArmResult> => {
    const apiVersion = query.get("api-version");
    if (!apiVersion) {
      throw new ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
    }
    if (!apiVersions.includes(apiVersion)) {
      throw new ArmError(400, "InvalidApiVersionParameter", `The api-version '${apiVersion}' is invalid. The supported versions are '${apiVersions.join(",")}'.`);
    }
    // The request against the published document: body schema, read-only fields, documented query.
    const broken = guard.requestError(guard.operation(method, path), query, body, path);
    if (broken) throw new ArmError(400, "BadRequest", broken);
    const op = opRoute.exec(path);
    if (op) {
      const rec = operations.get(op[4]!);
      if (!rec || method !== "GET") throw new ArmError(404, "NotFound", `Operation ${op[4]} not found.`);
      const r = rec.check();
      if (r.status !== "InProgress" && !rec.endTime) rec.endTime = nowIso();
      if (op[3]!.toLowerCase() === "computeoperationsstatus") {
        const status = { id: `${path}`, name: rec.id, status: r.status, startTime: rec.startTime, endTime: rec.endTime, ...(r.error ? { error: r.error } : {}) };
        const broken = guard.bodyError("operationStatus.response.json", status);
        if (broken) throw new ArmError(500, "EmulatorContractViolation", `operation status: ${broken}`);
        return { status: 200, headers: r.status === "InProgress" ? { "Retry-After": String(retryAfter) } : {}, body: status };
      }
      if (r.status === "InProgress") return { status: 202, headers: { Location: `${url}${path}?${query.toString()}`, "Retry-After": String(retryAfter) } };
      if (r.status === "Failed") throw new ArmError(400, r.error?.code ?? "OperationFailed", r.error?.message ?? "The operation failed.");
      return { status: 200, body: {} };
    }
    const m = wsRoute.exec(path);
    if (!m) throw new ArmError(404, "InvalidResourceType", `The resource type could not be found in the namespace for api version '${apiVersion}'.`);
    const [, sub, rg, wsName, rest = ""] = m;
    const ws = workspaces.get(wsKey(sub!, rg!, wsName!));
    if (!ws) {
      throw new ArmError(404, "ResourceNotFound", `The Resource '${PROVIDER}/workspaces/${wsName}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
    }
    const seg = rest.split("/").filter(Boolean);
    const obj = (body ?? {}) as Record<string, unknown>;

    if (seg.length === 0) {
      if (method !== "GET") throw new ArmError(405, "MethodNotAllowed", `${method} is not supported on workspaces by the emulator.`);
      return {
        status: 200,
        body: {
          id: ws.id, name: ws.name, type: `${PROVIDER}/workspaces`, location: ws.location,
          identity: { type: "SystemAssigned" }, sku: { name: "Basic", tier: "Basic" },
          properties: {
            provisioningState: "Succeeded", workspaceId: ws.workspaceId, friendlyName: ws.name,
            discoveryUrl: `https://${ws.location}.api.azureml.ms/discovery`,
            storageAccount: `/subscriptions/${ws.subscriptionId}/resourceGroups/${ws.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${opts.azurite?.accountName ?? "none"}`,
            mlFlowTrackingUri: `azureml://${ws.location}.api.azureml.ms/mlflow/v1.0${ws.id}`,
          },
        },
      };
    }
    const kind = lc(seg[0]!);
    const rq: Rq = { method, ws, seg, query, obj, apiVersion, kind };
    if (kind === "computes") return computesRoute(rq);
    if (kind === "codes" || kind === "environments") return assetsRoute(rq);
    if (kind === "datastores") return datastoresRoute(rq);
    if (kind === "jobs") return jobsRoute(rq);
    throw new ArmError(404, "InvalidResourceType", `The resource type '${seg[0]}' could not be found in the namespace '${PROVIDER}' for api version '${apiVersion}'.`);
  };

  // ---------- Entra ID slice ----------
  const identity = (method: string, path: string, form: URLSearchParams): { status: number; body: unknown } | undefined => {
    const oidc = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (oidc && method === "GET") {
      const t = oidc[1]!;
      return {
        status: 200,
        body: {
          token_endpoint: `${url}/${t}/oauth2/v2.0/token`,
          authorization_endpoint: `${url}/${t}/oauth2/v2.0/authorize`,
          device_authorization_endpoint: `${url}/${t}/oauth2/v2.0/devicecode`,
          end_session_endpoint: `${url}/${t}/oauth2/v2.0/logout`,
          issuer: `${url}/${t}/v2.0`,
          jwks_uri: `${url}/${t}/discovery/v2.0/keys`,
          response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
          subject_types_supported: ["pairwise"],
          id_token_signing_alg_values_supported: ["RS256"],
          token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
          scopes_supported: ["openid", "profile", "email", "offline_access"],
          tenant_region_scope: "EU",
          cloud_instance_name: "microsoftonline.com",
        },
      };
    }
    if (/^\/common\/discovery\/instance$/.test(path) && method === "GET") {
      const host = new URL(url).host;
      return {
        status: 200,
        body: {
          tenant_discovery_endpoint: `${url}/${tenantId}/v2.0/.well-known/openid-configuration`,
          "api-version": "1.1",
          metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
        },
      };
    }
    const tok = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (tok && method === "POST") {
      const aadError = (status: number, error: string, code: number, description: string) => ({
        status, body: { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: nowIso(), trace_id: randomUUID(), correlation_id: randomUUID() },
      });
      if (tok[1] !== tenantId && tok[1] !== "organizations") return aadError(400, "invalid_request", 90002, `Tenant '${tok[1]}' not found.`);
      if (form.get("grant_type") !== "client_credentials") return aadError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
      const clientId = form.get("client_id") ?? "";
      const assertion = form.get("client_assertion");
      if (assertion !== null) {
        // Workload identity federation: a signed token of a trusted issuer instead of a secret.
        if (!federated.some((c) => c.clientId === clientId)) return aadError(400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory.`);
        if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") return aadError(400, "invalid_request", 90014, "client_assertion_type is required with client_assertion.");
        const refusal = federationRefusal(assertion, clientId, { issuers: trustedIssuers, credentials: federated });
        if (refusal) return aadError(refusal.status, refusal.error, refusal.code, refusal.description);
      } else {
        const client = clients.find((c) => c.clientId === clientId);
        if (!client) return aadError(400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory.`);
        if (client.clientSecret !== form.get("client_secret")) return aadError(401, "invalid_client", 7000215, "Invalid client secret provided.");
      }
      const scope = form.get("scope") ?? "";
      if (!scope.endsWith("/.default")) return aadError(400, "invalid_scope", 1002012, `The provided value for scope ${scope} is not valid.`);
      tokensByClient.set(clientId, (tokensByClient.get(clientId) ?? 0) + 1);
      return { status: 200, body: { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: issueToken(clientId, scope.split(" ").find((s) => s.endsWith("/.default")) ?? scope) } };
    }
    return undefined;
  };

  const matchFault = (method: string, path: string): Fault | undefined => {
    for (const f of faults) {
      if ((f.times ?? 1) <= 0) continue;
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (f.path instanceof RegExp ? !f.path.test(path) : f.path && !lc(path).includes(lc(f.path))) continue;
      if (f.until !== undefined && Date.now() >= f.until) continue;
      if (f.probability !== undefined && Math.random() >= f.probability) continue;
      f.times = (f.times ?? 1) - 1;
      return f;
    }
    return undefined;
  };

  const send = (res: ServerResponse, rec: RequestRecord, result: ArmResult, op?: Operation) => {
    const checked = guard.answer(op, { status: result.status, headers: result.headers ?? {}, body: result.body }, (code, message) => ({ error: { code, message } }));
    const { status, body, headers } = checked;
    rec.status = status;
    const payload = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
      ...(payload ? { "Content-Type": "application/json; charset=utf-8" } : {}),
      "x-ms-request-id": randomUUID(),
      "x-ms-correlation-request-id": randomUUID(),
      ...headers,
    });
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", url);
    const method = (req.method ?? "GET").toUpperCase();
    const rec: RequestRecord = { seq: ++seq, at: Date.now(), method, path: u.pathname, query: Object.fromEntries(u.searchParams), status: 0 };
    requests.push(rec);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const op = guard.operation(method, u.pathname);
    try {
      const fault = matchFault(method, u.pathname);
      if (fault) {
        if (fault.status === 429) throttled++;
        throw new ArmError(fault.status, fault.code ?? (fault.status === 429 ? "TooManyRequests" : "InternalServerError"),
          fault.message ?? (fault.status === 429 ? "The request is being throttled as the limit has been reached for operation type." : "Encountered internal server error."),
          fault.retryAfterSeconds !== undefined ? { "Retry-After": String(fault.retryAfterSeconds) } : {});
      }
      const id = identity(method, u.pathname, new URLSearchParams(raw));
      if (id) return send(res, rec, id);
      for (const s of services) {
        if (await s.handle({ method, url: u, headers: req.headers, body: raw }, res)) {
          rec.status = res.statusCode;
          return;
        }
      }
      if (limiter) {
        const now = Date.now();
        limiter.tokens = Math.min(limiter.burst, limiter.tokens + ((now - limiter.last) / 1000) * limiter.perSecond);
        limiter.last = now;
        if (limiter.tokens < 1) {
          throttled++;
          const wait = Math.max(1, Math.ceil((1 - limiter.tokens) / limiter.perSecond));
          throw new ArmError(429, "TooManyRequests", "Number of requests for subscription exceeded the limit. Please try again later.", { "Retry-After": String(wait) });
        }
        limiter.tokens -= 1;
      }
      verifyToken(req.headers.authorization);
      let body: unknown;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          throw new ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
        }
      }
      const r = await arm(method, u.pathname, u.searchParams, body);
      send(res, rec, r, op);
    } catch (e) {
      if (e instanceof ArmError) return send(res, rec, { status: e.status, body: { error: { code: e.code, message: e.message } }, headers: e.headers }, op);
      send(res, rec, { status: 500, body: { error: { code: "InternalServerError", message: (e as Error).message } } }, op);
    }
  };

  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  url = `https://127.0.0.1:${port}`;
  const bearerError = (auth: string | undefined, audience: string): string | undefined => {
    try {
      verifyToken(auth, audience);
      return undefined;
    } catch (e) {
      if (e instanceof ArmError) return `${e.code}: ${e.message}`;
      throw e;
    }
  };
  for (const s of services) s.start({ url, azurite: opts.azurite, python: pythonExe, bearerError });

  const controls: EmulatorControls = {
    requests,
    count: (f = {}) => requests.filter((r) =>
      (!f.method || r.method === f.method.toUpperCase())
      && (!f.path || (f.path instanceof RegExp ? f.path.test(r.path) : lc(r.path).includes(lc(f.path))))
      && (f.status === undefined || r.status === f.status)
      && (f.since === undefined || r.seq > f.since)).length,
    clearLog: () => { requests.length = 0; },
    addFault: (f) => { faults.push(f); return f; },
    clearFaults: () => { faults.length = 0; },
    trustIssuer: (issuer) => { trustedIssuers.push(issuer); },
    federate: (credential) => { federated.push(credential); },
    tokensIssuedTo: (clientId) => tokensByClient.get(clientId) ?? 0,
    roleAssignmentPropagating: (forMs, path = /^\/subscriptions\//i) => {
      const f: Fault = {
        path, status: 403, code: "AuthorizationFailed", times: Infinity, until: Date.now() + forMs,
        message: "The caller has no role assignment that allows this action on this scope (emulated: the assignment is still propagating).",
      };
      faults.push(f);
      return f;
    },
    throttle: (times, retryAfterSeconds = 1) => {
      const f: Fault = { path: /^\/subscriptions\//i, status: 429, times, retryAfterSeconds };
      faults.push(f);
      return f;
    },
    rateLimit: (l) => { limiter = l ? { ...l, tokens: l.burst, last: Date.now() } : undefined; },
    failProvisioning: (name, error) => { failNext.set(lc(name), error); },
    seedCompute: (w, name, p) => {
      const ws = workspaces.get(wsKey(w.subscriptionId, w.resourceGroup, w.name));
      if (!ws) throw new Error("unknown workspace");
      computes.set(computeKey(ws, name), {
        key: computeKey(ws, name), ws, name, location: ws.location, createdOn: nowIso(), modifiedOn: nowIso(),
        provisioningState: "Succeeded", settleAt: 0, provisioningErrors: [], attached: Boolean(p.attached), resourceId: p.resourceId,
        computeType: p.computeType ?? "AmlCompute",
        amlProps: p.properties ?? { vmSize: p.vmSize, vmPriority: "Dedicated", scaleSettings: { minNodeCount: p.minNodes ?? 0, maxNodeCount: p.maxNodes ?? 2, nodeIdleTimeBeforeScaleDown: "PT30M" } },
      });
    },
    compute: (w, name) => {
      const ws = workspaces.get(wsKey(w.subscriptionId, w.resourceGroup, w.name));
      const c = ws && getCompute(ws, name);
      return c ? computeView(c) : undefined;
    },
    codeVersion: (_w, id) => codes.get(lc(id))?.properties as { codeUri?: string } | undefined,
    job: (w, name) => {
      const j = jobs.get(`${wsKey(w.subscriptionId, w.resourceGroup, w.name)}/${lc(name)}`);
      return j ? { status: j.status, exitCodes: j.exitCodes, output: j.outputs[0] ?? "", outputs: [...j.outputs], history: [...j.history], body: j.body } : undefined;
    },
    get tokensIssued() { return tokensIssued; },
    get throttled() { return throttled; },
    get contractViolations() { return [...guard.violations, ...services.flatMap((x) => x.contractViolations ?? [])]; },
  };

  return {
    url, port, caPem: tls.caPem, caPath: tls.caPath, bundlePath: tls.bundlePath, tenantId, clients,
    apiVersion: apiVersions[0]!,
    controls,
    close: async () => {
      closed = true;
      for (const s of services) await s.close?.();
      for (const j of jobs.values()) {
        for (const c of j.children) killGroup(c.pid, "SIGKILL");
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!opts.tls) rmSync(tls.dir, { recursive: true, force: true });
    },
  };
}

/** PT1H30M / P1DT2H / PT45S → ms. */
export function isoDurationMs(d: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d);
  if (!m) return undefined;
  return (((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 1000;
}

/** The real python3 executable (not a version-manager shim), or undefined. */
function findPython(): string | undefined {
  try {
    return execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}
