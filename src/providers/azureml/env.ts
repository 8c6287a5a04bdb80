import type { AzureMlConfig } from "../shared/azure/config.js";

/**
 * AmlCompute settings from environment variables, for src/config.ts (the only reader of
 * process.env). Unset variables keep the public-cloud defaults of resolveConfig().
 *
 *   AML_ARM_ENDPOINT                 ARM endpoint
 *   AML_ARM_SCOPE                    token scope for ARM
 *   AZURE_AUTHORITY_HOST             Entra authority (Workload Identity injects it)
 *   AML_DISABLE_INSTANCE_DISCOVERY   "true" for non-Microsoft authority hosts
 *   AML_CA_BUNDLE_PATH               extra trusted CA certificates (PEM)
 *   AML_API_VERSION                  Microsoft.MachineLearningServices api-version
 *   AML_BLOB_ENDPOINT_TEMPLATE       e.g. "{protocol}://{account}.blob.{endpoint}"
 *   AML_ARM_REQUESTS_PER_SECOND      per-subscription budget rate
 *   AML_ARM_REQUEST_BURST            per-subscription budget burst
 *   AML_OPERATION_POLL_MS, AML_RESYNC_MS, AML_JOB_POLL_MS
 *   AML_ROLE_PROPAGATION_GRACE_SECONDS  how long an ARM 403 is retried (AuthorizationPending)
 *   AML_CREDENTIALS_SECRET           per-namespace Secret name (default aml-azure-credentials)
 *   AML_OPERATOR_IDENTITY_NAMESPACES namespaces the operator's own identity serves (comma list, "*" all; default none)
 */
export function azureMlConfigFromEnv(env: NodeJS.ProcessEnv): AzureMlConfig {
  const num = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
    return n;
  };
  const seconds = (name: string): number | undefined => {
    const n = num(name);
    return n === undefined ? undefined : n * 1000;
  };
  const str = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const rate = num("AML_ARM_REQUESTS_PER_SECOND");
  const burst = num("AML_ARM_REQUEST_BURST");
  const cfg: Record<string, unknown> = {
    armEndpoint: str("AML_ARM_ENDPOINT"),
    armScope: str("AML_ARM_SCOPE"),
    authorityHost: str("AZURE_AUTHORITY_HOST"),
    disableInstanceDiscovery: env.AML_DISABLE_INSTANCE_DISCOVERY === "true" ? true : undefined,
    caBundlePath: str("AML_CA_BUNDLE_PATH"),
    apiVersion: str("AML_API_VERSION"),
    blobEndpointTemplate: str("AML_BLOB_ENDPOINT_TEMPLATE"),
    requestBudget: rate || burst ? { perSecond: rate ?? 3, burst: burst ?? 30 } : undefined,
    operationPollMs: num("AML_OPERATION_POLL_MS"),
    resyncMs: num("AML_RESYNC_MS"),
    jobPollMs: num("AML_JOB_POLL_MS"),
    rolePropagationGraceMs: seconds("AML_ROLE_PROPAGATION_GRACE_SECONDS"),
    namespaceSecretName: str("AML_CREDENTIALS_SECRET"),
    operatorIdentityNamespaces: str("AML_OPERATOR_IDENTITY_NAMESPACES")?.split(",").map((n) => n.trim()).filter(Boolean),
  };
  return Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)) as AzureMlConfig;
}
