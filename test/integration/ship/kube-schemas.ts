// kubeconform schemas for the built-in kinds, generated offline from the pinned Kubernetes
// version's swagger.json, in the layout kubeconform expects ({{ .ResourceKind }}{{ .KindSuffix }}.json)
// and with the same transformations as yannh/kubernetes-json-schema's "standalone-strict" set
// (openapi2jsonschema --strict): additionalProperties: false on every object with properties,
// optional fields nullable, int-or-string and Quantity as string|number, refs kept local.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

type Schema = Record<string, unknown>;
interface Swagger { definitions: Record<string, Schema> }

const refName = (ref: string): string => ref.replace("#/definitions/", "");

function strict(node: unknown, required: Set<string> = new Set()): unknown {
  if (Array.isArray(node)) return node.map((n) => strict(n));
  if (!node || typeof node !== "object") return node;
  const s = node as Schema;
  if (s.format === "int-or-string") return { oneOf: [{ type: "string" }, { type: "integer" }], description: s.description };
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "properties" && v && typeof v === "object") {
      const req = new Set((s.required as string[] | undefined) ?? []);
      out.properties = Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, nullableUnless(strict(ps) as Schema, req.has(p))]));
    } else {
      out[k] = strict(v, required);
    }
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function nullableUnless(s: Schema, required: boolean): Schema {
  if (required) return s;
  if (typeof s.type === "string") return { ...s, type: [s.type, "null"] };
  if (s.$ref || s.oneOf) return { anyOf: [s.$ref ? { $ref: s.$ref } : { oneOf: s.oneOf }, { type: "null" }], description: s.description };
  return s;
}

/** Names of every definition reachable from `root`. */
function closure(defs: Record<string, Schema>, root: string): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || !defs[name]) return;
    seen.add(name);
    JSON.stringify(defs[name], (k, v: unknown) => {
      if (k === "$ref" && typeof v === "string") visit(refName(v));
      return v;
    });
  };
  visit(root);
  return seen;
}

/** kubeconform's KindSuffix: "-<first segment of the group>-<version>", or "-<version>" for core. */
export function schemaFileName(kind: string, group: string, version: string): string {
  return `${kind.toLowerCase()}${group ? `-${group.split(".")[0]!.toLowerCase()}` : ""}-${version.toLowerCase()}.json`;
}

function writeSchemas(swagger: Swagger, dir: string): void {
  const defs: Record<string, Schema> = {};
  for (const [name, d] of Object.entries(swagger.definitions)) defs[name] = strict(d) as Schema;
  // resource.Quantity is a string in swagger, but manifests write `cpu: 1` as a number too.
  defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = { oneOf: [{ type: "string" }, { type: "number" }] };
  for (const [name, d] of Object.entries(swagger.definitions)) {
    const gvks = d["x-kubernetes-group-version-kind"] as { group: string; version: string; kind: string }[] | undefined;
    for (const gvk of gvks ?? []) {
      const own = [...closure(defs, name)].filter((n) => n !== name);
      const schema = { ...defs[name], definitions: Object.fromEntries(own.map((n) => [n, defs[n]])) };
      writeFileSync(join(dir, schemaFileName(gvk.kind, gvk.group, gvk.version)), JSON.stringify(schema));
    }
  }
}

/** Directory of generated schemas for `swaggerPath`, built once per swagger content and cached. */
export function kubeSchemaDir(swaggerPath: string): string {
  const text = readFileSync(swaggerPath, "utf8");
  const key = createHash("sha256").update("schemas-v1\n").update(text).digest("hex").slice(0, 16);
  const cache = process.env.AML_CACHE_DIR ?? join(homedir(), ".cache", "aml-compute-operator");
  const dir = join(cache, "tools", `kube-schemas-${key}`);
  if (existsSync(join(dir, "deployment-apps-v1.json"))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  writeSchemas(JSON.parse(text) as Swagger, tmp);
  renameSync(tmp, dir);
  return dir;
}
