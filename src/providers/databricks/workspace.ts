import type { ComputeTarget, DatabricksTargetSpec } from "../../api/v1alpha1/index.js";
import { TargetReason } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ProviderContext } from "../types.js";
import { DatabricksApi } from "./api.js";
import type { RestClient } from "../shared/rest.js";

export function databricksSpecOf(target: ComputeTarget): DatabricksTargetSpec {
  const spec = target.spec.databricks;
  if (!spec) throw new TerminalError("spec.databricks is required when type is Databricks", TargetReason.InvalidSpec);
  return spec;
}

/**
 * A client for the target's workspace with the token from its Secret. The token is read on every
 * call (through the informer cache), so a rotated Secret takes effect at the next reconcile.
 */
export async function workspaceApi(target: ComputeTarget, rest: RestClient, ctx: ProviderContext): Promise<DatabricksApi> {
  const spec = databricksSpecOf(target);
  const ns = target.metadata.namespace ?? "default";
  const { name, key = "token" } = spec.tokenSecretRef;
  const data = await ctx.readSecret(ns, name);
  if (!data) throw new TerminalError(`Secret ${ns}/${name} named by spec.databricks.tokenSecretRef does not exist`, TargetReason.SecretNotFound);
  const token = data[key]?.trim();
  if (!token) throw new TerminalError(`Secret ${ns}/${name} has no key "${key}" with a Databricks token`, TargetReason.SecretNotFound);
  return new DatabricksApi(rest, spec.workspaceUrl, token);
}
