import { Type, type Static, type TSchema } from "@sinclair/typebox";

/**
 * Schema building blocks that stay within Kubernetes' structural-schema rules: every node has a
 * `type`, no `$ref`, no `const`/`anyOf` of literals, no `patternProperties`.
 */

/** A string enum as OpenAPI `enum` (CRDs support it; TypeBox's literal unions would emit anyOf). */
export const StringEnum = <const T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...opts });

/** map[string]string, e.g. environment variables or a node selector. */
export const StringMap = (opts: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, string>>({ type: "object", additionalProperties: { type: "string" }, ...opts });

/** An opaque JSON object the API server keeps as is (used for provider resume handles). */
export const FreeFormObject = (opts: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, unknown>>({ type: "object", "x-kubernetes-preserve-unknown-fields": true, ...opts });

/** A Kubernetes resource quantity such as "500m", "2Gi" or 4. */
export const Quantity = (opts: Record<string, unknown> = {}) =>
  Type.Unsafe<string | number>({
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
    pattern: "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
    ...opts,
  });

/** A CEL validation rule (`x-kubernetes-validations`). */
export interface CelRule {
  rule: string;
  message: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  fieldPath?: string;
}
export const cel = (...rules: CelRule[]) => ({ "x-kubernetes-validations": rules });

/** An object whose fields are each optional but of which exactly one must be set. */
export const exactlyOneOf = (fields: readonly string[], what: string): CelRule => ({
  rule: `[${fields.map((f) => `has(self.${f})`).join(", ")}].filter(x, x).size() == 1`,
  message: `exactly one of ${fields.join(", ")} must be set for ${what}`,
});

export const LocalObjectRef = (description: string) =>
  Type.Object({ name: Type.String({ minLength: 1, maxLength: 253, description: "Name of the object in the same namespace." }) }, { description });
export type LocalObjectRef = Static<ReturnType<typeof LocalObjectRef>>;

/** A key in a Secret of the same namespace. Secrets are referenced, never inlined. */
export const SecretKeyRef = (description: string, defaultKey: string) =>
  Type.Object({
    name: Type.String({ minLength: 1, maxLength: 253, description: "Name of the Secret in the same namespace." }),
    key: Type.String({ minLength: 1, maxLength: 253, default: defaultKey, description: `Key within the Secret (default "${defaultKey}").` }),
  }, { description });
export type SecretKeyRef = Static<ReturnType<typeof SecretKeyRef>>;

/** metav1.Condition plus ASO's optional severity; limits copied from metav1.Condition. */
export const Condition = Type.Object({
  type: Type.String({ maxLength: 316, description: "Condition type, e.g. Ready or Succeeded." }),
  status: StringEnum(["True", "False", "Unknown"] as const, { description: "True, False or Unknown." }),
  severity: Type.Optional(StringEnum(["Error", "Warning", "Info"] as const, {
    description: "How bad a False condition is: Error (will not fix itself), Warning (retrying), Info.",
  })),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: "metadata.generation this condition was computed from." })),
  lastTransitionTime: Type.String({ format: "date-time", description: "When status last changed." }),
  reason: Type.String({ maxLength: 1024, pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", description: "Machine-readable PascalCase reason." }),
  message: Type.String({ maxLength: 32768, description: "Human-readable detail." }),
}, { description: "A condition of the object (metav1.Condition with severity)." });
export type Condition = Static<typeof Condition>;

export const Conditions = Type.Array(Condition, {
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
  maxItems: 16,
  description: "Current state as conditions; see the README for types and reasons.",
});

export const ObservedGeneration = Type.Integer({ minimum: 0, description: "The metadata.generation the status describes." });

/** Static type of an optional schema. */
export type Opt<T extends TSchema> = Static<T> | undefined;
