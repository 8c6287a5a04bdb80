import type { AzureMachineLearningWorkspaces, ComputeResource } from "@azure/arm-machinelearning";
import type { ComputeTargetStatus } from "../../../api/v1alpha1/index.js";
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
    let poller: Poller;
    const opts = resumeFrom ? { resumeFrom } : {};
    try {
      if (kind === "create") {
        poller = await this.arm.computeOperations.beginCreateOrUpdate(this.rg, this.ws, name, body ?? (params ? computeBody(params) : {}), opts);
      } else if (kind === "update") {
        const scale = params ? computeBody(params).properties as { properties: { scaleSettings: unknown } } : undefined;
        poller = await this.arm.computeOperations.beginUpdate(this.rg, this.ws, name, { properties: { scaleSettings: scale?.properties.scaleSettings as never } }, opts);
      } else {
        poller = await this.arm.computeOperations.beginDelete(this.rg, this.ws, name, underlyingResourceAction, opts);
      }
    } catch (e) {
      // core-lro reports a terminal Failed/Canceled operation by throwing a plain Error.
      if (resumeFrom && !isRestErrorLike(e) && /long.?running operation|operation (has )?failed|canceled|cancelled|failed/i.test(String((e as Error).message))) {
        return { done: true, op: { kind, computeName: name, startedAt: now.toISOString(), poller: resumeFrom }, failed: (e as Error).message };
      }
      if (kind === "delete" && isNotFound(e)) return { done: true, op: { kind, computeName: name, startedAt: now.toISOString(), poller: resumeFrom ?? "" } };
      throw classifyArmError(e, `${kind} compute ${name}`);
    }
    return { done: poller.isDone(), op: { kind, computeName: name, startedAt: now.toISOString(), poller: poller.toString() } };
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

function isRestErrorLike(e: unknown): boolean {
  return typeof e === "object" && e !== null && "statusCode" in e && typeof (e as { statusCode?: unknown }).statusCode === "number";
}

/** The ARM operation handle kept in status.operation, if it is one. */
export function readOperation(status: ComputeTargetStatus | undefined): ArmOperation | undefined {
  const op = status?.operation as Partial<ArmOperation> | undefined;
  if (!op || typeof op.poller !== "string" || !op.kind || !op.computeName) return undefined;
  return op as ArmOperation;
}

/** What one step of deleteOwned left: done, or an operation still in flight (to keep in status). */
export type DeleteStep = { readonly done: true } | { readonly done: false; readonly op?: ArmOperation };
