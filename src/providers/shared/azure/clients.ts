import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { AzureMachineLearningWorkspaces } from "@azure/arm-machinelearning";
import {
  ClientAssertionCredential, ClientSecretCredential, DefaultAzureCredential, type TokenCredential,
} from "@azure/identity";
import type { ComputeTarget } from "../../../api/v1alpha1/index.js";
import { TargetReason } from "../../../api/v1alpha1/index.js";
import { TerminalError } from "../../../runtime/errors.js";
import type { ProviderContext } from "../../types.js";
import { SubscriptionBudget } from "./budget.js";
import { DEFAULT_FEDERATED_SERVICE_ACCOUNT, ServiceAccountAssertions } from "./federation.js";
import { RolePropagationGrace } from "./role-propagation.js";
import type { ResolvedAzureMlConfig } from "./config.js";

export type CredentialSource = "target-secret" | "namespace-secret" | "operator";

export interface ResolvedCredential {
  readonly credential: TokenCredential;
  readonly source: CredentialSource;
  /** Which Secret (namespace/name) it came from, for messages; never its content. */
  readonly from?: string;
  /** Stable key: the same Secret content gives the same credential instance (token cache). */
  readonly cacheKey: string;
}

/**
 * Builds credentials and ARM clients from configuration. Credential precedence (most specific
 * wins): spec.credentialsSecretRef > Secret `aml-azure-credentials` in the target's namespace >
 * the operator's own identity (Workload Identity / DefaultAzureCredential), which serves only the
 * namespaces the administrator lists (`operatorIdentityNamespaces`). A Secret without a client
 * secret federates a ServiceAccount of the target's own namespace (ServiceAccountAssertions).
 */
export class AzureClients {
  private readonly credentials = new Map<string, TokenCredential>();
  private readonly clients = new Map<string, AzureMachineLearningWorkspaces>();
  private readonly tlsCa: string[] | undefined;
  readonly budget: SubscriptionBudget;
  readonly rolePropagation: RolePropagationGrace;
  private operatorCredential: TokenCredential | undefined;
  private readonly assertions = new ServiceAccountAssertions();

  constructor(private readonly config: ResolvedAzureMlConfig) {
    this.tlsCa = config.caBundlePath ? [...rootCertificates, readFileSync(config.caBundlePath, "utf8")] : undefined;
    this.budget = new SubscriptionBudget(config.requestBudget.perSecond, config.requestBudget.burst);
    this.rolePropagation = new RolePropagationGrace(config.rolePropagationGraceMs);
    this.operatorCredential = config.operatorCredential;
  }

  /** TLS and retry settings shared by every Azure client the provider makes. */
  clientOptions() {
    return {
      ...(this.tlsCa ? { tlsOptions: { ca: this.tlsCa } } : {}),
      retryOptions: { maxRetries: 0 },
      userAgentOptions: { userAgentPrefix: "aml-compute-operator" },
    };
  }

  async credentialFor(target: ComputeTarget, ctx: ProviderContext): Promise<ResolvedCredential> {
    const ns = target.metadata.namespace ?? "default";
    const ref = target.spec.credentialsSecretRef?.name;
    if (ref) {
      const data = await ctx.readSecret(ns, ref);
      if (!data) {
        throw new TerminalError(`Secret ${ns}/${ref} named by spec.credentialsSecretRef does not exist`, TargetReason.SecretNotFound);
      }
      return this.fromSecret(data, { source: "target-secret", from: `${ns}/${ref}`, namespace: ns }, ctx);
    }
    const nsData = await ctx.readSecret(ns, this.config.namespaceSecretName);
    if (nsData) return this.fromSecret(nsData, { source: "namespace-secret", from: `${ns}/${this.config.namespaceSecretName}`, namespace: ns }, ctx);
    const allowed = this.config.operatorIdentityNamespaces;
    if (!allowed.includes("*") && !allowed.includes(ns)) {
      throw new TerminalError(
        `namespace ${ns} has no Azure credentials (Secret ${this.config.namespaceSecretName} or spec.credentialsSecretRef), and the operator's own identity serves only the namespaces its administrator allows (${allowed.length ? allowed.join(", ") : "none"})`,
        TargetReason.IdentityNotAllowed,
      );
    }
    this.operatorCredential ??= new DefaultAzureCredential({
      authorityHost: this.config.authorityHost,
      disableInstanceDiscovery: this.config.disableInstanceDiscovery,
      ...this.clientOptions(),
    });
    return { credential: this.operatorCredential, source: "operator", cacheKey: "operator" };
  }

  /** `from` names the Secret (namespace/name) for messages; `namespace` is the target's. */
  private async fromSecret(data: Record<string, string>, { source, from, namespace }: { source: CredentialSource; from: string; namespace: string }, ctx: ProviderContext): Promise<ResolvedCredential> {
    const tenantId = data.AZURE_TENANT_ID?.trim();
    const clientId = data.AZURE_CLIENT_ID?.trim();
    const secret = data.AZURE_CLIENT_SECRET;
    if (!tenantId || !clientId) {
      throw new TerminalError(`Secret ${from} must hold AZURE_TENANT_ID and AZURE_CLIENT_ID (plus AZURE_CLIENT_SECRET, or nothing else to federate a ServiceAccount of the namespace)`, TargetReason.AuthenticationFailed);
    }
    const common = {
      authorityHost: this.config.authorityHost,
      disableInstanceDiscovery: this.config.disableInstanceDiscovery,
      ...this.clientOptions(),
    };
    if (secret) {
      const cacheKey = createHash("sha256").update(JSON.stringify([tenantId, clientId, secret])).digest("hex");
      let credential = this.credentials.get(cacheKey);
      if (!credential) this.credentials.set(cacheKey, credential = new ClientSecretCredential(tenantId, clientId, secret, common));
      return { credential, source, from, cacheKey };
    }
    // Federation: a token of a ServiceAccount in the target's own namespace is exchanged for the app.
    const serviceAccount = { namespace, name: data.AZURE_SERVICE_ACCOUNT_NAME?.trim() || DEFAULT_FEDERATED_SERVICE_ACCOUNT };
    // Asked now (and cached): a missing ServiceAccount is reported as such, not as a sign-in failure.
    await this.assertions.assertion(ctx.kube, serviceAccount);
    const cacheKey = createHash("sha256").update(JSON.stringify([tenantId, clientId, serviceAccount.namespace, serviceAccount.name])).digest("hex");
    let credential = this.credentials.get(cacheKey);
    if (!credential) {
      const kube = ctx.kube;
      credential = new ClientAssertionCredential(tenantId, clientId, () => this.assertions.assertion(kube, serviceAccount), common);
      this.credentials.set(cacheKey, credential);
    }
    return { credential, source, from, cacheKey };
  }

  /** The policies every ARM client of the provider carries: the subscription budget, the 403 grace of role propagation. */
  armPolicies(principal: string) {
    return [
      { policy: this.budget.policy(), position: "perCall" as const },
      { policy: this.rolePropagation.policy(principal), position: "perCall" as const },
    ];
  }

  async armFor(target: ComputeTarget, ctx: ProviderContext, subscriptionId: string): Promise<AzureMachineLearningWorkspaces> {
    const cred = await this.credentialFor(target, ctx);
    const key = `${cred.cacheKey}|${subscriptionId.toLowerCase()}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new AzureMachineLearningWorkspaces(cred.credential, subscriptionId, {
        endpoint: this.config.armEndpoint,
        credentialScopes: [this.config.armScope],
        ...(this.config.apiVersion ? { apiVersion: this.config.apiVersion } : {}),
        ...this.clientOptions(),
        additionalPolicies: this.armPolicies(cred.cacheKey),
      });
      this.clients.set(key, client);
    }
    return client;
  }
}
