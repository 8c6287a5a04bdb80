import type { KubeObject, ObjectKey } from "../../kube/types.js";

/**
 * Which objects refer to which Secrets or ConfigMaps of their namespace (referenced name → the
 * referring objects' keys), so that a Secret created or changed later wakes exactly the objects
 * waiting for it. Each reconcile records what its object refers to now (`record`), and forgets
 * an object that is gone or no longer waits on anything; every object is reconciled once after
 * the caches sync, so the index is complete before it is needed.
 */
export class ReferenceIndex {
  private readonly referrers = new Map<string, Set<string>>();
  private readonly refsOf = new Map<string, readonly string[]>();

  record(owner: ObjectKey, names: readonly string[]): void {
    const ownerId = idOf(owner.namespace, owner.name);
    const before = this.refsOf.get(ownerId) ?? [];
    if (before.length === names.length && before.every((n, i) => n === names[i])) return;
    this.forget(owner);
    if (names.length === 0) return;
    this.refsOf.set(ownerId, names);
    for (const name of names) {
      const id = idOf(owner.namespace, name);
      const set = this.referrers.get(id) ?? new Set<string>();
      set.add(owner.name);
      this.referrers.set(id, set);
    }
  }

  forget(owner: ObjectKey): void {
    const ownerId = idOf(owner.namespace, owner.name);
    for (const name of this.refsOf.get(ownerId) ?? []) {
      const id = idOf(owner.namespace, name);
      const set = this.referrers.get(id);
      set?.delete(owner.name);
      if (set?.size === 0) this.referrers.delete(id);
    }
    this.refsOf.delete(ownerId);
  }

  /** The keys of the objects that refer to `obj` (a Secret or ConfigMap) by name. */
  referrersOf(obj: KubeObject): ObjectKey[] {
    const namespace = obj.metadata.namespace ?? "";
    return [...(this.referrers.get(idOf(namespace, obj.metadata.name ?? "")) ?? [])].map((name) => ({ namespace, name }));
  }

  /** Objects recorded (for tests and metrics). */
  get size(): number {
    return this.refsOf.size;
  }
}

const idOf = (namespace: string, name: string): string => `${namespace}/${name}`;
