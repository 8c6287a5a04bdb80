/**
 * Object shapes and resource descriptors shared by the kube layer and everything above it.
 * Nothing here depends on @kubernetes/client-node: controllers see plain JSON objects.
 */

/** Identifies one namespaced object; the unit of work of every controller. */
export interface ObjectKey {
  readonly namespace: string;
  readonly name: string;
}

export const keyString = (key: ObjectKey): string => `${key.namespace}/${key.name}`;
export const keyOf = (obj: { metadata: { namespace?: string; name?: string } }): ObjectKey => ({
  namespace: obj.metadata.namespace ?? "",
  name: obj.metadata.name ?? "",
});

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** Any Kubernetes object as JSON. Spec and status stay `unknown` until a kind narrows them. */
export interface KubeObject<Spec = unknown, Status = unknown> {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

/** Where a kind lives in the API. `group` is "" for the core group. */
export interface ResourceKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export const apiVersionOf = (k: ResourceKind): string => (k.group ? `${k.group}/${k.version}` : k.version);

/** Built-in kinds the operator reads or writes. The CRD kinds are in src/api/v1alpha1/kinds.ts. */
export const BuiltinKinds = {
  Job: { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true },
  Pod: { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true },
  ConfigMap: { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  Service: { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true },
  Secret: { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  ServiceAccount: { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true },
  PersistentVolumeClaim: {
    group: "", version: "v1", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", namespaced: true,
  },
  Namespace: { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false },
  Lease: { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true },
  Event: { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true },
} as const satisfies Record<string, ResourceKind>;
