import type { KubeObject, ObjectKey, ResourceKind } from "./types.js";

/**
 * The only door to the API server for controllers. Reads come from informer
 * caches; writes go straight to the server. Every method maps HTTP failures to the classes in
 * ./errors.ts (NotFoundError, ConflictError, TransientError, InvalidError) — callers never see
 * raw status codes.
 */
export interface KubeClient {
  /**
   * Cached read. The kind must have been registered with `watch` (the manager does this for every
   * kind a controller uses) and the cache must have synced. Returns undefined when absent.
   */
  get<T extends KubeObject>(kind: ResourceKind, key: ObjectKey): T | undefined;

  /** Cached list, optionally narrowed to a namespace and to objects carrying all given labels. */
  list<T extends KubeObject>(kind: ResourceKind, opts?: ListOptions): T[];

  /** Live GET for kinds we do not cache (Secrets). Undefined on 404. */
  read<T extends KubeObject>(kind: ResourceKind, key: ObjectKey): Promise<T | undefined>;

  /** POST. Throws ConflictError with `alreadyExists: true` when the name is taken. */
  create<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T>;

  /**
   * Server-side apply with the operator's field manager and force=true: the operator owns the
   * fields it sets on objects it creates (Jobs, ConfigMaps). Idempotent.
   */
  apply<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T>;

  /**
   * PUT /status with obj.metadata.resourceVersion as precondition: a lost update surfaces as
   * ConflictError instead of overwriting a newer status. Never touches spec or metadata.
   */
  updateStatus<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T>;

  /**
   * JSON merge patch of metadata (finalizers, labels, annotations), guarded by the given
   * resourceVersion when provided. Returns the updated object.
   */
  patchMetadata<T extends KubeObject>(
    kind: ResourceKind, key: ObjectKey, patch: MetadataPatch, resourceVersion?: string,
  ): Promise<T>;

  /** JSON merge patch of spec (used by the kubectl plugin's cancel, not by controllers). */
  patchSpec<T extends KubeObject>(kind: ResourceKind, key: ObjectKey, spec: Record<string, unknown>): Promise<T>;

  /** DELETE; a missing object is success. Default propagation: Background. */
  delete(kind: ResourceKind, key: ObjectKey, opts?: DeleteOptions): Promise<void>;

  /** The last `tailLines` lines of a pod container's log; "" when the pod or log is gone. */
  podLogs(key: ObjectKey, opts?: { container?: string; tailLines?: number; limitBytes?: number }): Promise<string>;

  /**
   * TokenRequest (POST serviceaccounts/{name}/token): a token the API server signs for that
   * ServiceAccount, for `audience`, valid `expirationSeconds` (the server may shorten it). Throws
   * NotFoundError when the ServiceAccount does not exist.
   */
  requestServiceAccountToken(key: ObjectKey, audience: string, expirationSeconds: number): Promise<ServiceAccountToken>;

  /**
   * Live list of the Warning Events about one object (core/v1 events by involvedObject.uid), newest
   * first. For an object that looks stuck (a pod that does not start), not for the hot path.
   */
  warningEvents(namespace: string, uid: string): Promise<ObjectEvent[]>;

  /** Records a Kubernetes Event about `obj` (events.k8s.io/v1). Never throws: events are best effort. */
  recordEvent(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
}

export interface ServiceAccountToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** What a Warning Event says about an object: who complained, why, and when last. */
export interface ObjectEvent {
  reason: string;
  message: string;
  /** RFC 3339; the newest of lastTimestamp, eventTime, firstTimestamp. */
  lastSeen?: string;
}

export interface ListOptions {
  namespace?: string;
  labels?: Record<string, string>;
}

export interface MetadataPatch {
  finalizers?: string[] | null;
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

export interface DeleteOptions {
  propagation?: "Background" | "Foreground" | "Orphan";
  /** Precondition: only delete this exact incarnation of the object. */
  uid?: string;
}
