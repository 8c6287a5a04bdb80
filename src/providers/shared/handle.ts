/**
 * Decoding provider handles read back from TrainingRun.status.execution.handle. Status is written by
 * the operator but readable and writable by anyone with status access, so each provider checks the
 * shape before trusting it: a field of the wrong type means "not my handle".
 */
type FieldType = "string" | "number" | "boolean";
type Shape = Readonly<Record<string, FieldType | `${FieldType}?`>>;

const isRecord = (raw: unknown): raw is Record<string, unknown> =>
  typeof raw === "object" && raw !== null && !Array.isArray(raw);

/** `raw` as H when every required field of `shape` is present with its type and optional ones fit. */
export function decodeShape<H>(raw: unknown, shape: Shape): H | undefined {
  if (!isRecord(raw)) return undefined;
  for (const [field, spec] of Object.entries(shape)) {
    const optional = spec.endsWith("?");
    const type = optional ? spec.slice(0, -1) : spec;
    const value = raw[field];
    if (value === undefined && optional) continue;
    if (typeof value !== type) return undefined;
  }
  return raw as H;
}
