/**
 * The store the plugin uploads snapshots to and downloads outputs from: the same one the operator
 * uses for the namespace. AML_STORE_URL / AML_STORE_CONNECTION_STRING in the plugin's environment
 * win (a developer's own credentials, or `.cluster/services.env` for the local cluster); else the
 * namespace's Secret `aml-store` when the user may read it; else the user's Entra identity on
 * AML_STORE_URL (DefaultAzureCredential: az login, Workload Identity).
 */
import { dataPlaneEnv, storeSettings } from "../data-plane/config.js";
import { BlobStore } from "../data-plane/store.js";
import type { CliKube } from "./kube.js";

export class StoreNotFoundError extends Error {}

export async function cliStore(kube: CliKube, env: NodeJS.ProcessEnv = process.env): Promise<BlobStore> {
  const dp = dataPlaneEnv(env);
  if (dp.operator) return new BlobStore({ ...dp.operator, from: "plugin environment (AML_STORE_*)" });
  const secret = await kube.readSecret(dp.namespaceSecretName).catch(() => undefined);
  if (secret) {
    return new BlobStore(storeSettings({ url: secret.url, connectionString: secret.connectionString }, `Secret ${kube.namespace}/${dp.namespaceSecretName}`, dp));
  }
  throw new StoreNotFoundError(`no snapshot store: set AML_STORE_URL (and AML_STORE_CONNECTION_STRING, or sign in with az login), ` +
    `or ask for read access to Secret ${kube.namespace}/${dp.namespaceSecretName}. For the local cluster: set -a; . .cluster/services.env`);
}
