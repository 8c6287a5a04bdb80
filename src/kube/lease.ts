import type { KubeObject, ObjectKey } from "./types.js";

/** coordination.k8s.io/v1 LeaseSpec; times are MicroTime strings. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
export type Lease = KubeObject<LeaseSpec>;

/** The three calls leader election needs; KubeClientImpl provides them, tests fake them. */
export interface LeaseClient {
  readLease(key: ObjectKey): Promise<Lease | undefined>;
  /** Throws ConflictError(alreadyExists) when another candidate created it first. */
  createLease(lease: Lease): Promise<Lease>;
  /** PUT with metadata.resourceVersion as precondition; throws ConflictError when stale. */
  replaceLease(lease: Lease): Promise<Lease>;
}
