import type { Logger } from "pino";
import type { KubeClient } from "../../kube/client.js";
import { BuiltinKinds, type KubeObject } from "../../kube/types.js";
import type { ProviderContext } from "../../providers/types.js";

/**
 * Builds the context handed to providers; Secrets are read live (never cached, never logged). The
 * signal is the reconcile's, so a timed-out or shut-down reconcile stops its provider calls too.
 */
export function providerContext(kube: KubeClient, log: Logger, now: Date, signal: AbortSignal): ProviderContext {
  return {
    kube, log, now, signal,
    async readSecret(namespace, name) {
      const secret = await kube.read<KubeObject & { data?: Record<string, string> }>(BuiltinKinds.Secret, { namespace, name });
      if (!secret) return undefined;
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    },
  };
}
