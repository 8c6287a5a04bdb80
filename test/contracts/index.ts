import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

/**
 * The contracts under test/contracts: JSON Schemas of the bodies the providers send and read,
 * transcribed from the services' published API documents (each file's $comment names its source
 * and commit), and per service an operations.json that says, for every call, which body schema
 * applies, which status codes the document lists and which response headers it names.
 *
 * Validation is ajv's. The one thing JSON Schema leaves to the reader is `readOnly`: a request
 * validator treats it as "must not be sent" (ajv evaluates a property's subschema only when the
 * property is present, so a keyword that always fails is exactly that rule); a response
 * validator treats it as the annotation it is.
 */

export type Service = "azureml" | "batch" | "databricks";
export type Direction = "request" | "response";

export interface ResponseContract {
  /** Body schema file; absent when the document gives the status no body. */
  readonly body?: string;
  /** A non-JSON body (task files). */
  readonly raw?: boolean;
  /** Headers the document names for this status; all must be present. */
  readonly headers?: readonly string[];
  /** Bounds the document puts on Retry-After for this status. */
  readonly retryAfter?: { readonly minimum: number; readonly maximum: number };
}

export interface Operation {
  readonly operationId: string;
  readonly method: string;
  /** Path template with {placeholders}. */
  readonly path: string;
  readonly plane?: "management" | "data";
  readonly apiVersions?: readonly string[];
  readonly request?: string;
  /** Schema of the request as a whole, `{ path: {placeholder: value}, body }`: rules on URL parameters (names), some depending on the body. */
  readonly pathSchema?: string;
  readonly lro?: boolean;
  readonly query?: Readonly<Record<string, { readonly required?: boolean; readonly enum?: readonly string[] }>>;
  readonly responses: Readonly<Record<string, ResponseContract>>;
}

interface OperationsFile { readonly apiVersions?: readonly string[]; readonly operations: readonly Operation[] }

export interface Violation { readonly where: string; readonly message: string }

const root = dirname(fileURLToPath(import.meta.url));
// ajv-formats is CommonJS; its default export arrives as the module object under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

function newAjv(direction: Direction): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true, validateFormats: true });
  addFormats(ajv);
  // OpenAPI's numeric formats: integers of a width, floating point.
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat("double", { type: "number", validate: () => true });
  ajv.addFormat("float", { type: "number", validate: () => true });
  ajv.removeKeyword("readOnly");
  ajv.addKeyword({
    keyword: "readOnly",
    schemaType: "boolean",
    errors: false,
    validate: (readOnly: boolean) => direction === "response" || !readOnly,
  });
  return ajv;
}

function schemaFiles(service: Service): { file: string; schema: Record<string, unknown> }[] {
  const dir = join(root, service);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json") && f !== "operations.json")
    .map((file) => ({ file, schema: JSON.parse(readFileSync(join(dir, file), "utf8")) as Record<string, unknown> }));
}

/** ajv's own bookkeeping errors ("must match then schema") add nothing to the error beneath them. */
const NOISE = new Set(["if", "allOf", "oneOf", "anyOf"]);

function describe(e: ErrorObject): Violation {
  const where = e.instancePath || "(body)";
  if (e.keyword === "readOnly") return { where, message: "is read-only and must not be sent" };
  if (e.keyword === "additionalProperties") return { where, message: `has unknown property '${String(e.params.additionalProperty)}'` };
  return { where, message: e.message ?? e.keyword };
}

/** Path template → RegExp (placeholders match one segment; ARM paths are case-insensitive). */
function templateRegExp(path: string, caseInsensitive: boolean): RegExp {
  const body = path.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&")).join("([^/]+)");
  return new RegExp(`^${body}$`, caseInsensitive ? "i" : "");
}

/** One service's contracts: operations by method + path, and request/response validators. */
export class ServiceContract {
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ops: { op: Operation; re: RegExp; params: string[] }[];
  readonly apiVersions: readonly string[];

  constructor(readonly service: Service) {
    const files = schemaFiles(service);
    for (const direction of ["request", "response"] as const) {
      const ajv = newAjv(direction);
      for (const { schema } of files) ajv.addSchema(schema);
      for (const { file, schema } of files) {
        const fn = ajv.getSchema(String(schema.$id));
        if (fn) this.validators.set(`${direction}:${file}`, fn);
      }
    }
    const ops = JSON.parse(readFileSync(join(root, service, "operations.json"), "utf8")) as OperationsFile;
    this.apiVersions = ops.apiVersions ?? [];
    this.ops = ops.operations.map((op) => ({
      op, re: templateRegExp(op.path, service !== "databricks"), params: [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
    }));
  }

  /** The operation a request is, or undefined when the contracts do not cover it. */
  operation(method: string, path: string): Operation | undefined {
    return this.ops.find(({ op, re }) => op.method === method.toUpperCase() && re.test(path))?.op;
  }

  /** Violations of a body against one schema file of this service. */
  check(direction: Direction, file: string, body: unknown): Violation[] {
    const fn = this.validators.get(`${direction}:${file}`);
    if (!fn) throw new Error(`no contract ${this.service}/${file}`);
    return fn(body) ? [] : (fn.errors ?? []).filter((e) => !NOISE.has(e.keyword) || e.keyword === "oneOf").map(describe);
  }

  /** The URL's values of an operation's {placeholders}. */
  pathParameters(op: Operation, path: string): Record<string, string> {
    const entry = this.ops.find((o) => o.op === op);
    const m = entry?.re.exec(path);
    return Object.fromEntries((entry?.params ?? []).map((name, i) => [name, decodeURIComponent(m?.[i + 1] ?? "")]));
  }

  /** Request checks: api-version, documented query parameters, URL parameter rules, the body schema. */
  request(op: Operation, req: { query: URLSearchParams; body: unknown; path?: string }): Violation[] {
    const out: Violation[] = [];
    const versions = op.apiVersions ?? this.apiVersions;
    if (versions.length) {
      const v = req.query.get("api-version");
      if (!v) out.push({ where: "?api-version", message: "is required" });
      else if (!versions.includes(v)) out.push({ where: "?api-version", message: `'${v}' is not one of ${versions.join(", ")}` });
    }
    for (const [name, rule] of Object.entries(op.query ?? {})) {
      const v = req.query.get(name);
      if (v === null) {
        if (rule.required) out.push({ where: `?${name}`, message: "is required" });
      } else if (rule.enum && !rule.enum.includes(v)) {
        out.push({ where: `?${name}`, message: `'${v}' is not one of ${rule.enum.join(", ")}` });
      }
    }
    if (op.pathSchema && req.path !== undefined) {
      const params = this.pathParameters(op, req.path);
      out.push(...this.check("request", op.pathSchema, { path: params, body: req.body }).map((v) => {
        const name = /^\/path\/([^/]+)$/.exec(v.where)?.[1];
        return name ? { where: `{${name}} '${params[name]}'`, message: v.message } : v;
      }));
    }
    if (op.request) {
      if (req.body === undefined) out.push({ where: "(body)", message: "is required" });
      else out.push(...this.check("request", op.request, req.body));
    }
    return out;
  }

  /** Response checks: a documented status, the headers the document names for it, the body schema. */
  response(op: Operation, res: { status: number; headers: Record<string, string>; body: unknown }): Violation[] {
    const contract = op.responses[String(res.status)] ?? (res.status >= 400 ? op.responses.default : undefined);
    if (!contract) return [{ where: "status", message: `${res.status} is not a documented response of ${op.operationId}` }];
    const out: Violation[] = [];
    const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), v]));
    for (const h of contract.headers ?? []) {
      if (headers[h.toLowerCase()] === undefined) out.push({ where: `header ${h}`, message: `is required on ${res.status}` });
    }
    if (contract.retryAfter && headers["retry-after"] !== undefined) {
      const n = Number(headers["retry-after"]);
      if (!Number.isInteger(n) || n < contract.retryAfter.minimum || n > contract.retryAfter.maximum) {
        out.push({ where: "header Retry-After", message: `must be an integer in [${contract.retryAfter.minimum}, ${contract.retryAfter.maximum}]` });
      }
    }
    if (contract.body && !contract.raw) out.push(...this.check("response", contract.body, res.body));
    else if (!contract.body && !contract.raw && res.body !== undefined && res.status < 400 && !(typeof res.body === "object" && res.body !== null && Object.keys(res.body).length === 0)) {
      out.push({ where: "(body)", message: `${op.operationId} ${res.status} has no body in the document` });
    }
    return out;
  }
}

const cache = new Map<Service, ServiceContract>();

/** The contracts of a service (schemas compiled once per process). */
export function contractOf(service: Service): ServiceContract {
  let c = cache.get(service);
  if (!c) {
    c = new ServiceContract(service);
    cache.set(service, c);
  }
  return c;
}

/** "where message; where message" — for error bodies and test failures. */
export function formatViolations(v: readonly Violation[]): string {
  return v.map((x) => `${x.where} ${x.message}`).join("; ");
}
