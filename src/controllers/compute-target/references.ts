import type { ComputeTarget } from "../../api/v1alpha1/index.js";

/** The Secrets a target names in its spec: credentials, known_hosts, tokens. */
export function secretsReferencedBy(target: ComputeTarget): string[] {
  const spec = target.spec;
  const ssh = spec.remoteVM ?? spec.hdInsight;
  const names = [
    spec.credentialsSecretRef?.name,
    ssh?.credentialsSecretRef.name,
    ssh?.hostKey.knownHostsSecretRef?.name,
    spec.databricks?.tokenSecretRef?.name,
  ];
  return [...new Set(names.filter((n): n is string => n !== undefined))].sort();
}
