import type { KubeClient } from "../../kube/client.js";
import { keyString, type KubeObject, type ObjectKey, type ResourceKind } from "../../kube/types.js";
import { statusEqual } from "../../runtime/conditions.js";

/**
 * Remembers, per object, the resourceVersion our last write replaced. Until the informer delivers
 * the newer version, the cache still holds exactly that one: reconciling it would decide on stale
 * status and end in a 409. The watch event of our own write re-queues the key, so skipping is safe.
 */
export class StaleReadGuard {
  private readonly replaced = new Map<string, Set<string>>();

  isStale(obj: KubeObject): boolean {
    const key = keyOfObject(obj);
    const versions = this.replaced.get(key);
    if (!versions) return false;
    if (versions.has(obj.metadata.resourceVersion ?? "")) return true;
    this.replaced.delete(key);
    return false;
  }

  /** Records that `before` was replaced by a write that produced `after`. */
  wrote(before: KubeObject, after: KubeObject): void {
    const rv = before.metadata.resourceVersion;
    if (!rv || rv === after.metadata.resourceVersion) return;
    const key = keyOfObject(before);
    const versions = this.replaced.get(key) ?? new Set<string>();
    versions.add(rv);
    this.replaced.set(key, versions);
  }

  forget(key: ObjectKey): void {
    this.replaced.delete(keyString(key));
  }
}

const keyOfObject = (obj: KubeObject): string => keyString({ namespace: obj.metadata.namespace ?? "", name: obj.metadata.name ?? "" });

/**
 * The one status write of a reconcile: skipped when nothing changed (no API call, no watch event),
 * otherwise a PUT /status guarded by resourceVersion so a stale read ends in a ConflictError retry.
 */
export async function writeStatusIfChanged<T extends KubeObject>(
  kube: KubeClient, kind: ResourceKind, obj: T, status: T["status"],
): Promise<T> {
  if (statusEqual(obj.status, status)) return obj;
  return kube.updateStatus(kind, { ...obj, status });
}
