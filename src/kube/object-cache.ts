import type { KubeObject } from "./types.js";

const objKey = (o: KubeObject): string => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

/**
 * In-memory store of one kind keyed "namespace/name", with namespace and label indexes so list()
 * by namespace or label does not scan the whole cache. Objects are stored as received (no copies):
 * ~10k objects cost only the parsed JSON plus two Set entries per label.
 */
export class ObjectCache<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly byLabel = new Map<string, Set<string>>();

  get size(): number {
    return this.items.size;
  }

  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes and returns the stored object, if any. */
  remove(obj: KubeObject): T | undefined {
    const key = objKey(obj);
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  /** Objects in `namespace` (all when undefined) carrying every label in `labels`. */
  list(namespace?: string, labels?: Record<string, string>): T[] {
    const candidates: Set<string>[] = [];
    if (namespace !== undefined) candidates.push(this.byNamespace.get(namespace) ?? new Set());
    for (const [k, v] of Object.entries(labels ?? {})) candidates.push(this.byLabel.get(`${k}=${v}`) ?? new Set());
    if (candidates.length === 0) return [...this.items.values()];
    candidates.sort((a, b) => a.size - b.size);
    const [smallest, ...rest] = candidates as [Set<string>, ...Set<string>[]];
    const out: T[] = [];
    for (const key of smallest) {
      if (rest.every((s) => s.has(key))) out.push(this.items.get(key) as T);
    }
    return out;
  }

  private index(key: string, obj: T): void {
    addTo(this.byNamespace, obj.metadata.namespace ?? "", key);
    for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) addTo(this.byLabel, `${k}=${v}`, key);
  }

  private unindex(key: string, obj: T): void {
    removeFrom(this.byNamespace, obj.metadata.namespace ?? "", key);
    for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) removeFrom(this.byLabel, `${k}=${v}`, key);
  }
}

function addTo(index: Map<string, Set<string>>, bucket: string, key: string): void {
  let set = index.get(bucket);
  if (!set) index.set(bucket, (set = new Set()));
  set.add(key);
}

function removeFrom(index: Map<string, Set<string>>, bucket: string, key: string): void {
  const set = index.get(bucket);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) index.delete(bucket);
}
