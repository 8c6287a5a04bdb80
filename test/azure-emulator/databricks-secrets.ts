/**
 * Databricks secret scopes for the emulator (Secrets API 2.0: scopes/create, put, delete, list —
 * values are write-only, as in the service) and the job cluster's resolution of
 * `{{secrets/<scope>/<key>}}` references in new_cluster.spark_env_vars when it starts.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Fail = (status: number, code: string, message: string) => never;

export interface SecretsRequest { method: string; path: string; q: URLSearchParams; body: Record<string, unknown> }

export interface SecretScopes {
  /** The API answer, or undefined when `method path` is not a Secrets API call. */
  route(ws: string, req: SecretsRequest, fail: Fail): unknown;
  /** spark_env_vars with secret references replaced; throws naming the first missing secret. */
  resolve(ws: string, env: Record<string, string> | undefined): Record<string, string>;
  /** Keys of a scope (for tests: what is still stored). */
  keys(ws: string, scope: string): string[];
  /**
   * A directory to put on PYTHONPATH of a run on an all-purpose cluster: `pyspark.dbutils.DBUtils`
   * whose `secrets.get(scope, key)` answers from the workspace's secrets (as the driver's dbutils does).
   */
  dbutilsShim(ws: string): string;
}

const REF = /^\{\{secrets\/([^/}]+)\/([^/}]+)\}\}$/;
const KEY = /^[A-Za-z0-9_.-]{1,128}$/;

export function secretScopes(): SecretScopes {
  const scopes = new Map<string, Map<string, { value: string; updated: number }>>();
  const id = (ws: string, scope: string) => `${ws}/${scope}`;
  const scopeOf = (ws: string, scope: unknown, fail: Fail) => {
    const s = scopes.get(id(ws, String(scope ?? "")));
    if (!s) fail(404, "RESOURCE_DOES_NOT_EXIST", `Scope ${String(scope)} does not exist!`);
    return s!;
  };
  return {
    route(ws, { method, path, q, body }, fail) {
      switch (`${method} ${path}`) {
        case "POST /api/2.0/secrets/scopes/create": {
          const name = String(body.scope ?? "");
          if (!KEY.test(name)) fail(400, "INVALID_PARAMETER_VALUE", `Scope name ${name} is invalid.`);
          if (scopes.has(id(ws, name))) fail(400, "RESOURCE_ALREADY_EXISTS", `Scope ${name} already exists!`);
          scopes.set(id(ws, name), new Map());
          return {};
        }
        case "POST /api/2.0/secrets/put": {
          const s = scopeOf(ws, body.scope, fail);
          const key = String(body.key ?? "");
          if (!KEY.test(key)) fail(400, "INVALID_PARAMETER_VALUE", `Key ${key} is invalid.`);
          if (typeof body.string_value !== "string") fail(400, "INVALID_PARAMETER_VALUE", "string_value is required.");
          s.set(key, { value: String(body.string_value), updated: Date.now() });
          return {};
        }
        case "POST /api/2.0/secrets/delete": {
          const s = scopeOf(ws, body.scope, fail);
          if (!s.delete(String(body.key ?? ""))) fail(404, "RESOURCE_DOES_NOT_EXIST", `Secret ${String(body.key)} does not exist in scope ${String(body.scope)}.`);
          return {};
        }
        case "GET /api/2.0/secrets/list": {
          const s = scopeOf(ws, q.get("scope"), fail);
          return { secrets: [...s.entries()].map(([key, v]) => ({ key, last_updated_timestamp: v.updated })) };
        }
        default:
          return undefined;
      }
    },
    resolve(ws, env) {
      const out: Record<string, string> = {};
      for (const [name, value] of Object.entries(env ?? {})) {
        const m = REF.exec(value);
        if (!m) {
          out[name] = value;
          continue;
        }
        const secret = scopes.get(id(ws, m[1]!))?.get(m[2]!);
        if (!secret) throw new Error(`Invalid spark_env_vars: Secret does not exist with scope: ${m[1]} and key: ${m[2]}`);
        out[name] = secret.value;
      }
      return out;
    },
    keys: (ws, scope) => [...(scopes.get(id(ws, scope))?.keys() ?? [])],
    dbutilsShim(ws) {
      const values: Record<string, Record<string, string>> = {};
      for (const [sid, s] of scopes) {
        if (!sid.startsWith(`${ws}/`)) continue;
        values[sid.slice(ws.length + 1)] = Object.fromEntries([...s].map(([k, v]) => [k, v.value]));
      }
      const root = mkdtempSync(join(tmpdir(), "dbx-shim-"));
      mkdirSync(join(root, "pyspark"));
      writeFileSync(join(root, "pyspark", "__init__.py"), "");
      writeFileSync(join(root, "pyspark", "sql.py"), "class SparkSession:\n    class builder:\n        @staticmethod\n        def getOrCreate():\n            return SparkSession()\n");
      writeFileSync(join(root, "pyspark", "dbutils.py"), `import json
_VALUES = json.loads(${JSON.stringify(JSON.stringify(values))})
class _Secrets:
    def get(self, scope, key):
        try:
            return _VALUES[scope][key]
        except KeyError:
            raise Exception("Secret does not exist with scope: %s and key: %s" % (scope, key))
class DBUtils:
    def __init__(self, spark=None):
        self.secrets = _Secrets()
`);
      return root;
    },
  };
}
