import type { KubeClient, ServiceAccountToken } from "../../../kube/client.js";
import type { ObjectKey } from "../../../kube/types.js";
import { TargetReason } from "../../../api/v1alpha1/index.js";
import { NotFoundError, TerminalError } from "../../../runtime/errors.js";

/** The audience Entra ID requires on a token it exchanges (workload identity federation). */
export const FEDERATION_AUDIENCE = "api://AzureADTokenExchange";
/** The ServiceAccount whose tokens a namespace's federated identity is bound to, unless its Secret names another. */
export const DEFAULT_FEDERATED_SERVICE_ACCOUNT = "aml-workload-identity";

const LIFETIME_SECONDS = 3600;
/** A token closer than this to its expiry is not handed out again. */
const RENEW_BEFORE_MS = 10 * 60_000;

/**
 * Client assertions for workload identity federation, one ServiceAccount per namespace: the
 * operator asks the API server (TokenRequest) for a token of the ServiceAccount *in the target's
 * namespace*, with Entra's federation audience, and Entra exchanges it only for the app whose
 * federated credential names `system:serviceaccount:<namespace>:<name>`. A namespace can thus use
 * only an identity bound to itself; the operator's own token is never handed to another app.
 * Tokens are cached until shortly before they expire.
 */
export class ServiceAccountAssertions {
  private readonly tokens = new Map<string, ServiceAccountToken>();

  constructor(private readonly now: () => number = Date.now) {}

  async assertion(kube: KubeClient, key: ObjectKey): Promise<string> {
    const id = `${key.namespace}/${key.name}`;
    const cached = this.tokens.get(id);
    if (cached && cached.expiresAt.getTime() - this.now() > RENEW_BEFORE_MS) return cached.token;
    let fresh: ServiceAccountToken;
    try {
      fresh = await kube.requestServiceAccountToken(key, FEDERATION_AUDIENCE, LIFETIME_SECONDS);
    } catch (e) {
      if (e instanceof NotFoundError) {
        throw new TerminalError(`ServiceAccount ${id} does not exist: workload identity federation for this namespace signs in as it (create it, or name another with AZURE_SERVICE_ACCOUNT_NAME in the credentials Secret)`, TargetReason.ServiceAccountNotFound, { cause: e });
      }
      throw e;
    }
    this.tokens.set(id, fresh);
    return fresh.token;
  }
}
