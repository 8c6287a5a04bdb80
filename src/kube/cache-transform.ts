import type { KubeObject } from "./types.js";

/**
 * What the informer cache keeps of an object (controller-runtime's cache transforms): every
 * controller reads from the cache, so whatever it holds is paid for once per object, all the time.
 *
 * - `metadata.managedFields` (server-side apply bookkeeping, often larger than the object itself)
 *   and kubectl's `last-applied-configuration` annotation (a second copy of the spec) are never
 *   read by a controller and are dropped for every kind. Writes are unaffected: status goes through
 *   /status (which ignores metadata), metadata through merge patches, owned objects through apply.
 * - Pods and Jobs are only ever read for their metadata and status (which pod ran, how it ended);
 *   their spec, a copy of the whole pod template, is reduced to the scheduling facts.
 */
export type CacheTransform = (obj: KubeObject) => KubeObject;

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export function stripMetadata(obj: KubeObject): KubeObject {
  const meta = obj.metadata as KubeObject["metadata"] & { managedFields?: unknown };
  if (meta.managedFields !== undefined) delete meta.managedFields;
  if (meta.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _dropped, ...rest } = meta.annotations;
    meta.annotations = rest;
  }
  return obj;
}

function keepSpec(fields: readonly string[]): CacheTransform {
  return (obj) => {
    const spec = obj.spec as Record<string, unknown> | undefined;
    if (spec) obj.spec = Object.fromEntries(fields.filter((f) => spec[f] !== undefined).map((f) => [f, spec[f]]));
    return stripMetadata(obj);
  };
}

const BY_KIND: Record<string, CacheTransform> = {
  "/Pod": keepSpec(["nodeName", "hostname", "subdomain"]),
  "batch/Job": keepSpec(["completions", "parallelism", "completionMode", "suspend", "backoffLimit"]),
};

/** The transform for a kind, keyed "<group>/<Kind>" ("" group for core). */
export const cacheTransformFor = (group: string, kind: string): CacheTransform => BY_KIND[`${group}/${kind}`] ?? stripMetadata;
