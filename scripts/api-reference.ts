/**
 * Renders the spec fields of each CRD as Markdown tables (path, type, default, description) for
 * the README, from the same schemas as the CRDs, so the documentation cannot drift from the API.
 */
import type { CrdDescriptor } from "../src/api/v1alpha1/index.js";
import { toStructuralSchema } from "./structural-schema.js";

type Json = Record<string, unknown>;

const typeOf = (node: Json): string => {
  if (node["x-kubernetes-int-or-string"]) return "int-or-string";
  if (node.enum) return (node.enum as string[]).join(" | ");
  if (node.type === "array") return `[]${typeOf((node.items ?? {}) as Json)}`;
  if (node.type === "object" && node.additionalProperties) return "map[string]string";
  return String(node.type);
};

const cell = (text: unknown): string => String(text ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ");

function rows(node: Json, path: string, required: Set<string>): string[] {
  const props = (node.properties ?? {}) as Record<string, Json>;
  const req = new Set((node.required ?? []) as string[]);
  return Object.entries(props).flatMap(([name, child]) => {
    const p = path ? `${path}.${name}` : name;
    const def = child.default === undefined ? "" : `\`${JSON.stringify(child.default)}\``;
    const mark = req.has(name) || required.has(p) ? " (required)" : "";
    const own = `| \`${p}\`${mark} | ${cell(typeOf(child))} | ${def} | ${cell(child.description)} |`;
    const nested = child.type === "array" ? rows((child.items ?? {}) as Json, `${p}[]`, required) : rows(child, p, required);
    return [own, ...nested];
  });
}

export function renderApiReference(crds: readonly CrdDescriptor[]): string {
  return crds.map((crd) => {
    const spec = toStructuralSchema(crd.spec);
    const rules = collectRules(spec).map((r) => `- ${r}`).join("\n");
    return [
      `### ${crd.kind} (\`kubectl get ${crd.plural}\`, short name \`${crd.shortNames.join(", ")}\`)`,
      "",
      crd.description,
      "",
      "| field (under `spec`) | type | default | description |",
      "|---|---|---|---|",
      ...rows(spec, "", new Set()),
      "",
      "Checked at `kubectl apply` (CEL):",
      "",
      rules,
      "",
    ].join("\n");
  }).join("\n");
}

function collectRules(node: Json): string[] {
  const own = ((node["x-kubernetes-validations"] ?? []) as { message: string }[]).map((r) => r.message);
  const props = Object.values((node.properties ?? {}) as Record<string, Json>);
  const items = node.items ? [node.items as Json] : [];
  return [...own, ...[...props, ...items].flatMap(collectRules)].filter((m, i, all) => all.indexOf(m) === i);
}
