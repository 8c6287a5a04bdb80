/**
 * Turns a TypeBox schema into a Kubernetes structural schema (KEP-2335): plain JSON with a `type`
 * on every node and none of the keywords the API server rejects. Throws on anything it cannot
 * express, so a schema mistake fails `make gen` instead of `kubectl apply`.
 */
import type { TSchema } from "@sinclair/typebox";

const FORBIDDEN = ["$id", "$ref", "const", "patternProperties", "$schema", "definitions", "oneOf", "not"];

type Json = Record<string, unknown>;

export function toStructuralSchema(schema: TSchema): Json {
  // JSON round trip drops TypeBox's symbol-keyed metadata.
  const plain = JSON.parse(JSON.stringify(schema)) as Json;
  return normalize(plain, "");
}

function normalize(node: Json, path: string): Json {
  for (const key of FORBIDDEN) {
    if (key in node) throw new Error(`${path || "<root>"}: '${key}' is not allowed in a structural schema`);
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "anyOf" && node["x-kubernetes-int-or-string"] === true) {
      out[key] = value;
    } else if (key === "anyOf") {
      throw new Error(`${path}: anyOf is only supported for int-or-string`);
    } else if (key === "properties") {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, Json>).map(([k, v]) => [k, normalize(v, `${path}.${k}`)]),
      );
    } else if (key === "items" || (key === "additionalProperties" && typeof value === "object")) {
      out[key] = normalize(value as Json, `${path}[]`);
    } else {
      out[key] = value;
    }
  }
  dropDefaultedRequired(out);
  if (!("type" in out) && out["x-kubernetes-int-or-string"] !== true) {
    throw new Error(`${path || "<root>"}: every node needs a type`);
  }
  if ("properties" in out && "additionalProperties" in out) {
    throw new Error(`${path}: properties and additionalProperties are mutually exclusive in CRDs`);
  }
  return out;
}

/**
 * A field with a schema default is optional for the user (the API server fills it in before
 * validation). Listing it as required makes clients that validate against the published OpenAPI
 * (kubectl with a List, IDEs) demand it, so it is dropped from `required`.
 */
function dropDefaultedRequired(node: Json): void {
  const props = node.properties as Record<string, Json> | undefined;
  const required = node.required as string[] | undefined;
  if (!props || !required) return;
  const kept = required.filter((name) => props[name]?.default === undefined);
  if (kept.length > 0) node.required = kept;
  else delete node.required;
}
