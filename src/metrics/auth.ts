import type { AzureClients } from "../providers/shared/azure/clients.js";
import type { AzureMlConfig } from "../providers/shared/azure/config.js";
import type { TrackingAuth } from "./collector.js";

/** Azure ML's MLflow endpoint takes an Azure Resource Manager token (as the azureml-mlflow plugin sends). */
export const AZURE_ML_TRACKING_SCOPE = "https://management.azure.com/.default";

/**
 * Authorization for remote tracking services with the credentials the targets already use:
 * the target's Azure credential (AmlCompute) or its Databricks token Secret. Never logged.
 */
export function trackingAuth(azureml: AzureMlConfig | undefined): TrackingAuth {
  // The Azure SDKs load only when an AmlCompute run's metrics are first read (opt-in, see tracking.ts).
  let clients: Promise<AzureClients> | undefined;
  const azure = (): Promise<AzureClients> =>
    (clients ??= import("../providers/azureml/index.js").then((m) => m.createAmlComputeProvider(azureml).clients));
  return async (target, kind, ctx) => {
    if (kind === "azure") {
      const cred = await (await azure()).credentialFor(target, ctx);
      const token = await cred.credential.getToken(AZURE_ML_TRACKING_SCOPE);
      return token ? `Bearer ${token.token}` : undefined;
    }
    const ref = target.spec.databricks?.tokenSecretRef;
    if (!ref) return undefined;
    const token = (await ctx.readSecret(target.metadata.namespace ?? "", ref.name))?.[ref.key];
    return token ? `Bearer ${token.trim()}` : undefined;
  };
}
