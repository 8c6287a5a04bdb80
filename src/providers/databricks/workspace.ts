import type { ComputeTarget, DatabricksTargetSpec } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ProviderContext } from "../types.js";
import { DatabricksApi } from "./api.js";
import type { RestClient } from "../shared/rest.js";
import type { AzureClients } from "../shared/azure/clients.js";
import { classifyArmError } from "../shared/azure/errors.js";

export function databricksSpecOf(target: ComputeTarget): DatabricksTargetSpec {
  const spec = target.spec.databricks;
  if (!spec) throw new TerminalError("spec.databricks is required when type is Databricks", TargetReason.InvalidSpec);
  return spec;
}

/**
 * Application id of the Azure Databricks resource: the audience of a Microsoft Entra token for any
 * Azure Databricks workspace. Source: databricks/databricks-sdk-py `databricks/sdk/azure.py`
 * (ARM_DATABRICKS_RESOURCE_ID) @ 0069bd6fba468f762dce4f151335fa492f788223.
 */
export const AZURE_DATABRICKS_RESOURCE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d";

/** What reaching a workspace takes: the HTTPS client, and the Azure credentials for EntraID. */
export interface WorkspaceAccess {
  readonly rest: RestClient;
  readonly azure?: AzureClients;
}

/**
 * A client for the target's workspace. PersonalAccessToken: the token from its Secret, read on
 * every call, so a rotated Secret takes effect at the next reconcile. EntraID: a token for the
 * Azure Databricks resource from the target's Azure credentials (the same chain as AmlCompute;
 * the credential caches and renews it).
 */
export async function workspaceApi(target: ComputeTarget, { rest, azure }: WorkspaceAccess, ctx: ProviderContext): Promise<DatabricksApi> {
  const spec = databricksSpecOf(target);
  if (spec.authentication === "EntraID") return new DatabricksApi(rest, spec.workspaceUrl, await entraToken(target, ctx, azure));
  const ns = target.metadata.namespace ?? "default";
  if (!spec.tokenSecretRef) throw new TerminalError("spec.databricks.tokenSecretRef is required when authentication is PersonalAccessToken", TargetReason.InvalidSpec);
  const { name, key = "token" } = spec.tokenSecretRef;
  const data = await ctx.readSecret(ns, name);
  if (!data) throw new TerminalError(`Secret ${ns}/${name} named by spec.databricks.tokenSecretRef does not exist`, TargetReason.SecretNotFound);
  const token = data[key]?.trim();
  if (!token) throw new TerminalError(`Secret ${ns}/${name} has no key "${key}" with a Databricks token`, TargetReason.SecretNotFound);
  return new DatabricksApi(rest, spec.workspaceUrl, token);
}

async function entraToken(target: ComputeTarget, ctx: ProviderContext, azure: AzureClients | undefined): Promise<string> {
  if (!azure) throw new TerminalError("authentication EntraID needs the operator's Azure configuration, which this Databricks provider was built without", TargetReason.ProviderNotAvailable);
  try {
    const { credential } = await azure.credentialFor(target, ctx);
    const token = await credential.getToken(`${AZURE_DATABRICKS_RESOURCE}/.default`, { abortSignal: ctx.signal });
    if (!token) throw new TerminalError("Microsoft Entra ID returned no token for the Azure Databricks resource", TargetReason.AuthenticationFailed);
    return token.token;
  } catch (e) {
    throw classifyArmError(e, "Microsoft Entra token for Azure Databricks");
  }
}
