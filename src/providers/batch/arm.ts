import { BatchManagementClient, type BatchAccount, type Pool } from "@azure/arm-batch";
import type { AzureBatchTargetSpec, ComputeTarget } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ResolvedAzureMlConfig } from "../shared/azure/config.js";
import type { AzureClients } from "../shared/azure/clients.js";
import { classifyArmError } from "../shared/azure/errors.js";
import type { ProviderContext } from "../types.js";

export function batchSpecOf(target: ComputeTarget): AzureBatchTargetSpec {
  const spec = target.spec.azureBatch;
  if (!spec) throw new TerminalError("spec.azureBatch is required when type is AzureBatch", TargetReason.InvalidSpec);
  return spec;
}

export const isArmNotFound = (e: unknown): boolean => (e as { statusCode?: number } | undefined)?.statusCode === 404;

/**
 * The ARM side of a Batch target through @azure/arm-batch: the account (its data-plane endpoint
 * and auto-storage), a named pool, and the auto-storage account's keys. Credentials, TLS, the
 * per-subscription request budget and error classification are the AmlCompute provider's, shared.
 */
export class BatchArm {
  private readonly clients = new Map<string, BatchManagementClient>();

  constructor(readonly azure: AzureClients, private readonly config: Pick<ResolvedAzureMlConfig, "armEndpoint" | "armScope">) {}

  async client(target: ComputeTarget, ctx: ProviderContext, subscriptionId: string): Promise<BatchManagementClient> {
    const cred = await this.azure.credentialFor(target, ctx);
    this.azure.budget.admit(subscriptionId);
    const key = `${cred.cacheKey}|${subscriptionId.toLowerCase()}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new BatchManagementClient(cred.credential, subscriptionId, {
        endpoint: this.config.armEndpoint,
        credentialScopes: [this.config.armScope],
        ...this.azure.clientOptions(),
        additionalPolicies: this.azure.armPolicies(cred.cacheKey),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /** The account, or undefined when ARM says it does not exist. Other failures are classified. */
  async account(client: BatchManagementClient, spec: AzureBatchTargetSpec): Promise<BatchAccount | undefined> {
    try {
      return await client.batchAccountOperations.get(spec.resourceGroup, spec.accountName);
    } catch (e) {
      if (isArmNotFound(e)) return undefined;
      throw classifyArmError(e, `Batch account ${spec.accountName}`);
    }
  }

  async pool(client: BatchManagementClient, spec: AzureBatchTargetSpec, poolId: string): Promise<Pool | undefined> {
    try {
      return await client.poolOperations.get(spec.resourceGroup, spec.accountName, poolId);
    } catch (e) {
      if (isArmNotFound(e)) return undefined;
      throw classifyArmError(e, `Batch pool ${poolId}`);
    }
  }
}
