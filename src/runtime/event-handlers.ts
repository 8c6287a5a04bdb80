import type { InformerHandlers } from "../kube/informer.js";
import { keyOf, type KubeObject, type ObjectKey, type ResourceKind } from "../kube/types.js";

type Enqueue = (key: ObjectKey) => void;

const groupOf = (apiVersion: string): string => (apiVersion.includes("/") ? apiVersion.split("/")[0] ?? "" : "");

/** Everything of an object but its status (and the resourceVersion a status write moves). */
function sameButStatus(a: KubeObject, b: KubeObject): boolean {
  const m = (o: KubeObject) => JSON.stringify([
    o.metadata.generation, o.metadata.labels, o.metadata.annotations, o.metadata.finalizers, o.metadata.deletionTimestamp, o.metadata.ownerReferences,
  ]);
  return m(a) === m(b);
}

/**
 * Events of the primary kind enqueue the object's own key (controller-runtime For()). With
 * `ignoreStatusOnly`, an update that changed nothing but status does not (controller-runtime's
 * GenerationChangedPredicate, metadata changes still count).
 */
export function enqueueSelf(enqueue: Enqueue, opts: { ignoreStatusOnly?: boolean } = {}): InformerHandlers<KubeObject> {
  const on = (obj: KubeObject): void => enqueue(keyOf(obj));
  const update = (obj: KubeObject, old: KubeObject): void => {
    if (opts.ignoreStatusOnly && sameButStatus(obj, old)) return;
    on(obj);
  };
  return { add: on, update, delete: on };
}

/**
 * The key of the object's controlling owner when that owner is of `owner` kind (same API group), as
 * controller-runtime's EnqueueRequestForOwner(OnlyControllerOwner). Owners live in the same namespace.
 */
export function controllerOwnerKey(obj: KubeObject, owner: ResourceKind): ObjectKey | undefined {
  const ref = obj.metadata.ownerReferences?.find(
    (r) => r.controller === true && r.kind === owner.kind && groupOf(r.apiVersion) === owner.group,
  );
  return ref ? { namespace: obj.metadata.namespace ?? "", name: ref.name } : undefined;
}

/** Events of an owned kind enqueue the controlling owner; updates enqueue the old and new owner. */
export function enqueueOwner(owner: ResourceKind, enqueue: Enqueue): InformerHandlers<KubeObject> {
  const on = (obj: KubeObject): void => {
    const key = controllerOwnerKey(obj, owner);
    if (key) enqueue(key);
  };
  return { add: on, delete: on, update: (obj, old) => { on(old); on(obj); } };
}

/** Events of a watched kind enqueue whatever `map` returns, for the old and the new object on update. */
export function enqueueMapped(map: (obj: KubeObject) => ObjectKey[], enqueue: Enqueue): InformerHandlers<KubeObject> {
  const on = (obj: KubeObject): void => map(obj).forEach(enqueue);
  return { add: on, delete: on, update: (obj, old) => { on(old); on(obj); } };
}
