import { TargetReason } from "../api/v1alpha1/index.js";
import type { ComputeProvider, ProviderEntry } from "./types.js";

/**
 * Azure Data Lake Analytics was retired on 2024-02-29. Manifests naming it still apply, and the
 * target says so plainly instead of failing in an obscure way.
 */
export const DATA_LAKE_ANALYTICS_RETIREMENT =
  "Azure Data Lake Analytics was retired on 2024-02-29; migrate U-SQL jobs to Azure Synapse Analytics or Microsoft Fabric (Spark), e.g. an HDInsight or Databricks ComputeTarget";

export const retiredComputeProvider: ComputeProvider = {
  async ensure() {
    return { ready: { status: "False", reason: TargetReason.TargetRetired, severity: "Error", message: DATA_LAKE_ANALYTICS_RETIREMENT } };
  },
  async release() {
    return { done: true };
  },
};

/** The registry entry of a retired type: the target explains, and no run is ever validated or submitted. */
export const retiredProvider = (): ProviderEntry => ({ compute: retiredComputeProvider, validate: () => undefined });
