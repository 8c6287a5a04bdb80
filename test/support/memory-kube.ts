// An in-memory KubeClient for controller unit tests: objects by kind and key, resourceVersions that
// move on every write, and a log of status writes. Controller tests feed it objects and a provider
// registry whose entries throw on purpose; everything else is the product's code.
import type { DeleteOptions, KubeClient, ListOptions, MetadataPatch, ObjectEvent, ServiceAccountToken } from "../../src/kube/client.js";
import { ConflictError } from "../../src/runtime/errors.js";
import { keyString, type KubeObject, type ObjectKey, type ResourceKind } from "../../src/kube/types.js";

export class MemoryKube implements KubeClient {
  private readonly objects = new Map<string, KubeObject>();
  private version = 100;
  readonly statusWrites: { kind: string; name: string; status: unknown }[] = [];
  readonly events: { reason: string; message: string }[] = [];
  /** Warning Events other components recorded, by the uid of the object they are about. */
  readonly warnings = new Map<string, ObjectEvent[]>();

  private id(kind: ResourceKind, key: ObjectKey): string {
    return `${kind.kind}|${keyString(key)}`;
  }

  private store<T extends KubeObject>(kind: ResourceKind, obj: T): T {
    const stored = structuredClone({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.version) } });
    this.objects.set(this.id(kind, { namespace: obj.metadata.namespace ?? "", name: obj.metadata.name ?? "" }), stored);
    return structuredClone(stored);
  }

  /** Adds or replaces an object as a watch would deliver it. */
  put<T extends KubeObject>(kind: ResourceKind, obj: T): T {
    return this.store(kind, obj);
  }

  get<T extends KubeObject>(kind: ResourceKind, key: ObjectKey): T | undefined {
    const obj = this.objects.get(this.id(kind, key));
    return obj ? (structuredClone(obj) as T) : undefined;
  }

  list<T extends KubeObject>(kind: ResourceKind, opts: ListOptions = {}): T[] {
    return [...this.objects.entries()]
      .filter(([id]) => id.startsWith(`${kind.kind}|`))
      .map(([, obj]) => obj)
      .filter((obj) => opts.namespace === undefined || obj.metadata.namespace === opts.namespace)
      .filter((obj) => Object.entries(opts.labels ?? {}).every(([k, v]) => obj.metadata.labels?.[k] === v))
      .map((obj) => structuredClone(obj) as T);
  }

  async read<T extends KubeObject>(kind: ResourceKind, key: ObjectKey): Promise<T | undefined> {
    return this.get<T>(kind, key);
  }

  async create<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    if (this.get(kind, { namespace: obj.metadata.namespace ?? "", name: obj.metadata.name ?? "" })) throw new ConflictError("exists", true);
    return this.store(kind, obj);
  }

  async apply<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    return this.store(kind, obj);
  }

  async updateStatus<T extends KubeObject>(kind: ResourceKind, obj: T): Promise<T> {
    const current = this.get<T>(kind, { namespace: obj.metadata.namespace ?? "", name: obj.metadata.name ?? "" });
    if (!current) throw new Error(`${kind.kind} ${obj.metadata.name} not found`);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion) throw new ConflictError("stale resourceVersion");
    this.statusWrites.push({ kind: kind.kind, name: obj.metadata.name ?? "", status: structuredClone(obj.status) });
    return this.store(kind, { ...current, status: obj.status });
  }

  async patchMetadata<T extends KubeObject>(kind: ResourceKind, key: ObjectKey, patch: MetadataPatch): Promise<T> {
    const current = this.get<T>(kind, key);
    if (!current) throw new Error(`${kind.kind} ${key.name} not found`);
    const finalizers = patch.finalizers === null ? undefined : (patch.finalizers ?? current.metadata.finalizers);
    return this.store(kind, { ...current, metadata: { ...current.metadata, finalizers } });
  }

  async patchSpec<T extends KubeObject>(kind: ResourceKind, key: ObjectKey, spec: Record<string, unknown>): Promise<T> {
    const current = this.get<T>(kind, key)!;
    return this.store(kind, { ...current, spec: { ...(current.spec as object), ...spec } });
  }

  async delete(kind: ResourceKind, key: ObjectKey, _opts?: DeleteOptions): Promise<void> {
    this.objects.delete(this.id(kind, key));
  }

  async podLogs(): Promise<string> {
    return "";
  }

  async requestServiceAccountToken(): Promise<ServiceAccountToken> {
    throw new Error("MemoryKube signs no ServiceAccount tokens");
  }

  async warningEvents(_namespace: string, uid: string): Promise<ObjectEvent[]> {
    return this.warnings.get(uid) ?? [];
  }

  recordEvent(_obj: KubeObject, _type: "Normal" | "Warning", reason: string, message: string): void {
    this.events.push({ reason, message });
  }
}
