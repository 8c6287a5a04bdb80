import type { AzureClients } from "../providers/azureml/client.js";
import type { TrackingAuth } from "./collector.js";

/** Azure ML's MLflow endpoint takes an Azure Resource Manager token (as the azureml-mlflow plugin sends). */
export const AZURE_ML_TRACKING_SCOPE = "https://management.azure.com/.default";

/**
 * Authorization for remote tracking services with the credentials the targets already use:
 * the target's Azure credential (AmlCompute) or its Databricks token Secret. Never logged.
 */
export function trackingAuth(clients: AzureClients): TrackingAuth {
  return async (target, kind, ctx) => {
    if (kind === "azure") {
      const cred = await clients.credentialFor(target, ctx);
      const token = await cred.credential.getToken(AZURE_ML_TRACKING_SCOPE);
      return token ? `Bearer ${token.token}` : undefined;
    }
    const ref = target.spec.databricks?.tokenSecretRef;
    if (!ref) return undefined;
    const token = (await ctx.readSecret(target.metadata.namespace ?? "", ref.name))?.[ref.key];
    return token ? `Bearer ${token.trim()}` : undefined;
  };
}
