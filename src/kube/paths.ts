import type { ResourceKind } from "./types.js";

/**
 * REST path of a kind's collection or of one object (and optional subresource). Cluster-scoped
 * kinds ignore `namespace`; a namespaced kind without a namespace addresses all namespaces.
 */
export function resourcePath(kind: ResourceKind, namespace?: string, name?: string, subresource?: string): string {
  const base = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  const ns = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const obj = name ? `/${encodeURIComponent(name)}` : "";
  const sub = name && subresource ? `/${subresource}` : "";
  return `${base}${ns}/${kind.plural}${obj}${sub}`;
}

/** Stable identity of a kind for maps: "<group>/<plural>" ("/pods" for core). */
export const kindId = (kind: ResourceKind): string => `${kind.group}/${kind.plural}`;
