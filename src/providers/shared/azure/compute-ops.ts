import type { AzureMachineLearningWorkspaces, ComputeResource } from "@azure/arm-machinelearning";
import { createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import type { ComputeTargetStatus } from "../../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../../runtime/errors.js";
import { classifyArmError, isNotFound } from "./errors.js";

/*
 * ARM long-running operations on Azure ML computes, shared by every provider that creates,
 * attaches or deletes one (AmlCompute targets, run-based computes, HDInsight registrations). Each
 * call sends at most one request for an operation: begin* polls once, a resumed poller polls once,
 * and the poller's state lives in status between reconciles, so a restarted operator resumes the
 * operation instead of sending it again.
 */

/** Tags the operator puts on computes it creates: how a later GET knows the compute is its own. */
export const OWNER_TAG = "amlcompute.dev/owner";
export const OWNER_UID_TAG = "amlcompute.dev/owner-uid";

/**
 * Resume handle of an ARM long-running operation, kept in ComputeTarget.status.operation (and in
 * run handles for run-based computes). `poller` is core-lro's serialized state (poller.toString()),
 * which `resumeFrom` accepts: a resumed poller polls the original operation and never re-sends the
 * PUT/PATCH/DELETE.
 */
export interface ArmOperation {
  readonly kind: "create" | "update" | "delete";
  readonly computeName: string;
  readonly startedAt: string;
  readonly poller: string;
}

export interface ComputeParams {
  readonly computeName: string;
  readonly location?: string;
  readonly vmSize: string;
  readonly vmPriority: "Dedicated" | "LowPriority";
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly idleSecondsBeforeScaleDown: number;
  readonly subnetId?: string;
  readonly tags: Record<string, string>;
  readonly description?: string;
}

export const secondsToIso = (s: number): string => `PT${Math.max(0, Math.floor(s))}S`;
export function isoToSeconds(d: string | undefined): number | undefined {
  if (!d) return undefined;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d);
  if (!m) return undefined;
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0);
}

export function computeBody(p: ComputeParams): ComputeResource {
  return {
    ...(p.location ? { location: p.location } : {}),
    tags: p.tags,
    properties: {
      computeType: "AmlCompute",
      ...(p.description ? { description: p.description } : {}),
      properties: {
        vmSize: p.vmSize,
        vmPriority: p.vmPriority,
        osType: "Linux",
        scaleSettings: {
          minNodeCount: p.minNodes,
          maxNodeCount: p.maxNodes,
          nodeIdleTimeBeforeScaleDown: secondsToIso(p.idleSecondsBeforeScaleDown),
        },
        ...(p.subnetId ? { subnet: { id: p.subnetId } } : {}),
      },
    },
  } as ComputeResource;
}

type Poller = { isDone(): boolean; toString(): string; getResult(): unknown };

export interface BeginOptions {
  readonly params?: ComputeParams;
  /** The full PUT body of a create; default: the AmlCompute body of `params`. */
  readonly body?: ComputeResource;
  readonly resumeFrom?: string;
  /** For delete: Delete the underlying resource (default) or Detach it (attached computes). */
  readonly underlyingResourceAction?: "Delete" | "Detach";
}

/**
 * ARM operations on one compute: GET, start or resume create/update/delete. Each call sends at
 * most one ARM request for the operation (begin* polls once; a resumed poller polls once).
 */
export class ComputeOps {
  constructor(readonly arm: AzureMachineLearningWorkspaces, readonly rg: string, readonly ws: string) {}

  async get(name: string): Promise<ComputeResource | undefined> {
    try {
      return await this.arm.computeOperations.get(this.rg, this.ws, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw classifyArmError(e, `GET compute ${name}`);
    }
  }

  /**
   * `body` replaces the AmlCompute body built from `params` for a create (e.g. an attached
   * compute); `underlyingResourceAction` is Delete unless said otherwise (Detach for attached
   * computes).
   */
  async begin(kind: ArmOperation["kind"], name: string, now: Date, { params, body, resumeFrom, underlyingResourceAction = "Delete" }: BeginOptions = {}): Promise<{ done: boolean; op: ArmOperation; failed?: string }> {
    if (resumeFrom) return this.resume(kind, name, now, resumeFrom);
    let poller: Poller;
    try {
      if (kind === "create") {
        poller = await this.arm.computeOperations.beginCreateOrUpdate(this.rg, this.ws, name, body ?? (params ? computeBody(params) : {}));
      } else if (kind === "update") {
        const scale = params ? computeBody(params).properties as { properties: { scaleSettings: unknown } } : undefined;
        poller = await this.arm.computeOperations.beginUpdate(this.rg, this.ws, name, { properties: { scaleSettings: scale?.properties.scaleSettings as never } });
      } else {
        poller = await this.arm.computeOperations.beginDelete(this.rg, this.ws, name, underlyingResourceAction);
      }
    } catch (e) {
      if (kind === "delete" && isNotFound(e)) return { done: true, op: { kind, computeName: name, startedAt: now.toISOString(), poller: "" } };
      throw classifyArmError(e, `${kind} compute ${name}`);
    }
    return { done: poller.isDone(), op: { kind, computeName: name, startedAt: now.toISOString(), poller: poller.toString() } };
  }

  /**
   * One look at an operation started earlier: a GET of its Azure-AsyncOperation URL (from the
   * saved poller state), whose documented body decides by `status` and `error.code` alone. Anything
   * that keeps the operator from reading the status (a credential Entra refuses, a 403, a network
   * error) says nothing about the operation, which goes on in Azure: it is thrown as transient so
   * the operation stays in status and is looked at again — never taken for a failure (no
   * ProvisioningFailed, no second DELETE).
   */
  private async resume(kind: ArmOperation["kind"], name: string, now: Date, resumeFrom: string): Promise<{ done: boolean; op: ArmOperation; failed?: string }> {
    const op: ArmOperation = { kind, computeName: name, startedAt: now.toISOString(), poller: resumeFrom };
    const url = operationStatusUrl(resumeFrom);
    // Without an operation URL there is nothing to poll: the compute's own GET tells how it went.
    if (!url) return { done: true, op };
    const what = `watching the ${kind} of compute ${name}`;
    let answer: OperationStatusBody;
    try {
      const res = await this.arm.sendRequest(createPipelineRequest({ url, method: "GET" }));
      answer = parseJson(res.bodyAsText ?? undefined);
      if (res.status >= 400) {
        throw new RestError(answer.error?.message ?? `HTTP ${res.status}`, { code: answer.error?.code, statusCode: res.status, response: res });
      }
    } catch (e) {
      throw whileWatching(classifyArmError(e, what));
    }
    const outcome = operationOutcome(answer);
    return { done: outcome.done, op, ...(outcome.failed ? { failed: `${outcome.failed.code}: ${outcome.failed.message}` } : {}) };
  }

  /**
   * The delete state machine of a compute the operator owns, one step per call: resume the DELETE
   * recorded in `prior`; otherwise GET it — gone or not ours (`owned` says; never delete what the
   * operator did not create) → done; already Deleting in Azure → wait; else send one DELETE.
   */
  async deleteOwned(name: string, now: Date, opts: DeleteOptions): Promise<DeleteStep> {
    const { prior, owned, underlyingResourceAction = "Delete" } = opts;
    if (prior?.kind === "delete" && prior.computeName === name && prior.poller) {
      const r = await this.begin("delete", name, now, { resumeFrom: prior.poller, underlyingResourceAction });
      if (!r.done) return { done: false, op: { ...r.op, startedAt: prior.startedAt } };
      if (!r.failed) return { done: true };
    }
    const compute = await this.get(name);
    if (!compute || !owned(compute)) return { done: true };
    if (compute.properties?.provisioningState === "Deleting") return { done: false };
    const r = await this.begin("delete", name, now, { underlyingResourceAction });
    return r.done ? { done: true } : { done: false, op: r.op };
  }
}

export interface DeleteOptions {
  /** Whether the compute found under the name is the operator's to delete. */
  readonly owned: (compute: ComputeResource) => boolean;
  /** The operation recorded in status by an earlier step, resumed instead of sending a new DELETE. */
  readonly prior?: ArmOperation;
  readonly underlyingResourceAction?: "Delete" | "Detach";
}

/** The documented body of an ARM asynchronous operation status (common-types v3 OperationStatusResult). */
export interface OperationStatusBody {
  readonly status?: string;
  readonly error?: { readonly code?: string; readonly message?: string };
}

/**
 * ARM's asynchronous operation status → outcome. Succeeded, Failed and Canceled are the terminal
 * states; any other status is an operation still running. Only `status` and `error.code` decide.
 */
export function operationOutcome(body: OperationStatusBody): { done: boolean; failed?: { code: string; message: string } } {
  const status = (body.status ?? "").toLowerCase();
  if (status === "succeeded") return { done: true };
  if (status !== "failed" && status !== "canceled") return { done: false };
  const fallback = status === "failed" ? "Failed" : "Canceled";
  return { done: true, failed: { code: body.error?.code ?? fallback, message: body.error?.message ?? `the operation ended ${body.status}` } };
}

/** The Azure-AsyncOperation (or Location) URL in core-lro's serialized poller state. */
export function operationStatusUrl(serializedPoller: string): string | undefined {
  const state = parseJson(serializedPoller) as { state?: { config?: { operationLocation?: unknown } } };
  const url = state.state?.config?.operationLocation;
  return typeof url === "string" && url ? url : undefined;
}

function parseJson(text: string | undefined): OperationStatusBody {
  try {
    return text ? JSON.parse(text) as OperationStatusBody : {};
  } catch {
    return {};
  }
}

/** An error met while reading an operation's status is never the operation's outcome: retry it. */
function whileWatching(e: Error): TransientError {
  if (e instanceof TransientError) return e;
  const reason = e instanceof TerminalError ? e.reason : undefined;
  return new TransientError(`${e.message} (the operation goes on in Azure; looking again)`, undefined, { cause: e, ...(reason ? { reason } : {}) });
}

/** The ARM operation handle kept in status.operation, if it is one. */
export function readOperation(status: ComputeTargetStatus | undefined): ArmOperation | undefined {
  const op = status?.operation as Partial<ArmOperation> | undefined;
  if (!op || typeof op.poller !== "string" || !op.kind || !op.computeName) return undefined;
  return op as ArmOperation;
}

/** What one step of deleteOwned left: done, or an operation still in flight (to keep in status). */
export type DeleteStep = { readonly done: true } | { readonly done: false; readonly op?: ArmOperation };
