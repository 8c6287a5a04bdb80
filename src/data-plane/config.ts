/**
 * Which store a namespace uses and how to reach it. Most specific wins: the namespace's Secret
 * (default name `aml-store`) > the operator's environment. A store belongs to a namespace the way
 * a default datastore belongs to an Azure ML workspace: the plugin uploads a snapshot before any
 * target is involved, so every target of the namespace reads the same store.
 *
 * Settings (environment variable / Secret key):
 *   AML_STORE_URL / url                 blob service URL as the operator and plugin reach it
 *   AML_STORE_TARGET_URL / targetUrl    the same service as targets (pods, VMs) reach it; default url
 *   AML_STORE_CONNECTION_STRING / connectionString   account key or SAS; without it the operator's
 *                                       own identity (Workload Identity / DefaultAzureCredential)
 */
import type { TokenCredential } from "@azure/identity";
import { DEFAULT_CONTAINERS, type Containers } from "./layout.js";

export type StoreAuth =
  | { readonly kind: "sharedKey"; readonly accountName: string; readonly accountKey: string }
  | { readonly kind: "sas"; readonly sas: string }
  | { readonly kind: "token"; readonly credential?: TokenCredential };

export interface StoreSettings {
  readonly url: string;
  readonly targetUrl: string;
  readonly containers: Containers;
  readonly auth: StoreAuth;
  /** Where the settings came from (environment, Secret ns/name), for messages; never secret. */
  readonly from: string;
  /** Lifetime of the SAS URLs handed to targets. */
  readonly sasLifetimeMs: number;
}

export interface DataPlaneEnv {
  /** Settings from the operator's environment, when it names a store. */
  readonly operator?: StoreSettings;
  /** Name of the per-namespace Secret that overrides them. */
  readonly namespaceSecretName: string;
  readonly containers: Containers;
  readonly sasLifetimeMs: number;
}

export class StoreConfigError extends Error {
  override readonly name = "StoreConfigError";
}

/** `Key=Value;…` as Azure Storage writes connection strings (values may contain "="). */
export function parseConnectionString(cs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of cs.split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function endpointOf(parts: Record<string, string>): string | undefined {
  if (parts.BlobEndpoint) return parts.BlobEndpoint.replace(/\/+$/, "");
  if (parts.AccountName) {
    const suffix = parts.EndpointSuffix ?? "core.windows.net";
    return `${parts.DefaultEndpointsProtocol ?? "https"}://${parts.AccountName}.blob.${suffix}`;
  }
  return undefined;
}

/** Logs and JSON show how the store is reached, never the key or SAS (the auth object hides them). */
function hidden<T extends StoreAuth>(auth: T): T {
  Object.defineProperty(auth, "toJSON", { enumerable: false, value: () => ({ kind: auth.kind }) });
  return auth;
}

export interface RawStoreSettings { url?: string; targetUrl?: string; connectionString?: string }

/** Builds settings from the three raw values; throws StoreConfigError naming what is wrong. */
export function storeSettings(raw: RawStoreSettings, from: string, common: Pick<DataPlaneEnv, "containers" | "sasLifetimeMs">): StoreSettings {
  const cs = raw.connectionString?.trim() ? parseConnectionString(raw.connectionString) : undefined;
  const url = (raw.url?.trim() || (cs ? endpointOf(cs) : undefined))?.replace(/\/+$/, "");
  if (!url) throw new StoreConfigError(`${from}: no store URL (set url, or a connection string with BlobEndpoint or AccountName)`);
  try {
    new URL(url);
  } catch {
    throw new StoreConfigError(`${from}: store URL is not a URL`);
  }
  let auth: StoreAuth = { kind: "token" };
  if (cs?.AccountKey) {
    const accountName = cs.AccountName;
    if (!accountName) throw new StoreConfigError(`${from}: the connection string has AccountKey but no AccountName`);
    auth = hidden({ kind: "sharedKey", accountName, accountKey: cs.AccountKey });
  } else if (cs?.SharedAccessSignature) {
    auth = hidden({ kind: "sas", sas: cs.SharedAccessSignature.replace(/^\?/, "") });
  } else if (cs) {
    throw new StoreConfigError(`${from}: the connection string has neither AccountKey nor SharedAccessSignature`);
  }
  return { url, targetUrl: (raw.targetUrl?.trim() || url).replace(/\/+$/, ""), containers: common.containers, auth, from, sasLifetimeMs: common.sasLifetimeMs };
}

export function dataPlaneEnv(env: NodeJS.ProcessEnv = process.env): DataPlaneEnv {
  const containers = {
    snapshots: env.AML_STORE_SNAPSHOTS_CONTAINER || DEFAULT_CONTAINERS.snapshots,
    runs: env.AML_STORE_RUNS_CONTAINER || DEFAULT_CONTAINERS.runs,
  };
  const hours = Number(env.AML_STORE_SAS_HOURS || 168);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 168) throw new StoreConfigError("AML_STORE_SAS_HOURS must be a number of hours in (0, 168]");
  const common = { containers, sasLifetimeMs: hours * 3_600_000 };
  const named = env.AML_STORE_URL || env.AML_STORE_CONNECTION_STRING;
  return {
    ...common,
    namespaceSecretName: env.AML_STORE_SECRET || "aml-store",
    ...(named ? {
      operator: storeSettings({
        url: env.AML_STORE_URL, targetUrl: env.AML_STORE_TARGET_URL, connectionString: env.AML_STORE_CONNECTION_STRING,
      }, "operator environment (AML_STORE_*)", common),
    } : {}),
  };
}

/** Settings for a namespace: its Secret when present, else the operator's; undefined when neither. */
export function settingsFor(env: DataPlaneEnv, namespace: string, secret: Record<string, string> | undefined): StoreSettings | undefined {
  if (secret) {
    return storeSettings({ url: secret.url, targetUrl: secret.targetUrl, connectionString: secret.connectionString }, `Secret ${namespace}/${env.namespaceSecretName}`, env);
  }
  return env.operator;
}
