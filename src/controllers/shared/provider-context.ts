import type { Logger } from "pino";
import type { KubeClient } from "../../kube/client.js";
import { BuiltinKinds, type KubeObject } from "../../kube/types.js";
import type { ProviderContext } from "../../providers/types.js";

type SecretData = Record<string, string> | undefined;

/**
 * Builds the context handed to providers; Secrets are read live from the API server (never from an
 * informer cache, never logged), at most once per reconcile: the context lives for one reconcile,
 * so gather, act and the data plane asking for the same Secret share one read, and the next
 * reconcile sees a changed Secret. The signal is the reconcile's, so a timed-out or shut-down
 * reconcile stops its provider calls too.
 */
export function providerContext(kube: KubeClient, log: Logger, now: Date, signal: AbortSignal): ProviderContext {
  const reads = new Map<string, Promise<SecretData>>();
  const read = async (namespace: string, name: string): Promise<SecretData> => {
    const secret = await kube.read<KubeObject & { data?: Record<string, string> }>(BuiltinKinds.Secret, { namespace, name });
    if (!secret) return undefined;
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
  };
  return {
    kube, log, now, signal,
    readSecret(namespace, name) {
      const key = `${namespace}/${name}`;
      let pending = reads.get(key);
      if (!pending) {
        // A failed read is not remembered: a retry within the reconcile asks again.
        pending = read(namespace, name).catch((err: unknown) => {
          reads.delete(key);
          throw err;
        });
        reads.set(key, pending);
      }
      return pending;
    },
  };
}
