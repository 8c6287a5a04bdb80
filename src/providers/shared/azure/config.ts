import type { TokenCredential } from "@azure/identity";
import { DEFAULT_ROLE_PROPAGATION_GRACE_MS } from "./role-propagation.js";

/**
 * Operator-level settings of the AmlCompute provider. Every endpoint comes from here: production
 * uses the public-cloud defaults, sovereign clouds and the test emulator set their own. There is
 * no code path that knows about the emulator.
 */
export interface AzureMlConfig {
  /** ARM endpoint. Default https://management.azure.com. */
  readonly armEndpoint?: string;
  /** Token scope for ARM. Default https://management.azure.com/.default (also for sovereign-cloud endpoints, set it accordingly). */
  readonly armScope?: string;
  /** Entra ID authority host. Default https://login.microsoftonline.com (azureMlConfigFromEnv reads AZURE_AUTHORITY_HOST). */
  readonly authorityHost?: string;
  /**
   * Skip Entra instance discovery (a call to login.microsoftonline.com). Needed for private clouds,
   * Azure Stack and any non-Microsoft authority host; the authority is then trusted as configured.
   */
  readonly disableInstanceDiscovery?: boolean;
  /** PEM file whose certificates are trusted *in addition to* Node's roots for ARM and Entra calls. */
  readonly caBundlePath?: string;
  /** Microsoft.MachineLearningServices api-version. Default: the SDK's (2022-10-01). */
  readonly apiVersion?: string;
  /**
   * How a blob datastore (account, endpoint suffix, protocol) becomes a URL. Placeholders
   * {account}, {endpoint}, {protocol}. Default "{protocol}://{account}.blob.{endpoint}".
   */
  readonly blobEndpointTemplate?: string;
  /** Per-subscription ARM request budget (token bucket) shared by all targets. */
  readonly requestBudget?: { readonly perSecond: number; readonly burst: number };
  /** How soon to look again at an ARM long-running operation. Default 10 s. */
  readonly operationPollMs?: number;
  /** Re-read a Ready compute this often (node counts, drift). Default 5 min. */
  readonly resyncMs?: number;
  /** Poll interval for running jobs. Default 15 s. */
  readonly jobPollMs?: number;
  /** How long an ARM 403 on a resource is retried as a role assignment still propagating (AuthorizationPending). Default 15 min. */
  readonly rolePropagationGraceMs?: number;
  /** Name of the per-namespace credentials Secret. Default aml-azure-credentials. */
  readonly namespaceSecretName?: string;
  /**
   * Operator-wide credential. Default: DefaultAzureCredential (Workload Identity in the pod; set
   * AZURE_TOKEN_CREDENTIALS=prod in the Deployment so nothing else is probed).
   */
  readonly operatorCredential?: TokenCredential;
  /**
   * Namespaces whose targets without credentials of their own may use the operator's identity
   * ("*" for all). Default none: every namespace brings its own (a Secret, or a federated
   * ServiceAccount of its own).
   */
  readonly operatorIdentityNamespaces?: readonly string[];
  /** Environment image when the RunConfiguration names none. */
  readonly defaultImage?: string;
}

export interface ResolvedAzureMlConfig {
  readonly armEndpoint: string;
  readonly armScope: string;
  readonly authorityHost: string;
  readonly disableInstanceDiscovery: boolean;
  readonly caBundlePath: string | undefined;
  readonly apiVersion: string | undefined;
  readonly blobEndpointTemplate: string;
  readonly requestBudget: { readonly perSecond: number; readonly burst: number };
  readonly operationPollMs: number;
  readonly resyncMs: number;
  readonly jobPollMs: number;
  readonly rolePropagationGraceMs: number;
  readonly namespaceSecretName: string;
  readonly operatorCredential: TokenCredential | undefined;
  readonly operatorIdentityNamespaces: readonly string[];
  readonly defaultImage: string;
}

/** ARM's documented limit is 12000 reads/hour per subscription and principal (≈3.3/s). */
export function resolveConfig(c: AzureMlConfig): ResolvedAzureMlConfig {
  return {
    armEndpoint: (c.armEndpoint ?? "https://management.azure.com").replace(/\/$/, ""),
    armScope: c.armScope ?? "https://management.azure.com/.default",
    authorityHost: (c.authorityHost ?? "https://login.microsoftonline.com").replace(/\/$/, ""),
    disableInstanceDiscovery: c.disableInstanceDiscovery ?? false,
    caBundlePath: c.caBundlePath,
    apiVersion: c.apiVersion,
    blobEndpointTemplate: c.blobEndpointTemplate ?? "{protocol}://{account}.blob.{endpoint}",
    requestBudget: c.requestBudget ?? { perSecond: 3, burst: 30 },
    operationPollMs: c.operationPollMs ?? 10_000,
    resyncMs: c.resyncMs ?? 300_000,
    jobPollMs: c.jobPollMs ?? 15_000,
    rolePropagationGraceMs: c.rolePropagationGraceMs ?? DEFAULT_ROLE_PROPAGATION_GRACE_MS,
    namespaceSecretName: c.namespaceSecretName ?? "aml-azure-credentials",
    operatorCredential: c.operatorCredential,
    operatorIdentityNamespaces: c.operatorIdentityNamespaces ?? [],
    defaultImage: c.defaultImage ?? "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
  };
}
