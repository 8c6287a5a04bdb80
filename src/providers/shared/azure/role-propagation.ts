import { isRestError, type PipelinePolicy, type PipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";
import { TargetReason } from "../../../api/v1alpha1/index.js";
import { TransientError } from "../../../runtime/errors.js";

/** How long an ARM 403 is taken for a role assignment still on its way. */
export const DEFAULT_ROLE_PROPAGATION_GRACE_MS = 15 * 60_000;

interface Episode { since: number; last: number }

/**
 * ARM 403 while a role assignment propagates. A role granted to the operator's (or a namespace's)
 * identity takes minutes to reach every ARM front end, so a 403 right after setup is usually
 * temporary; Azure Service Operator retries such errors too. The policy sees every ARM answer of
 * its client: a 403 on a scope (the resource the request is about, per principal) starts an
 * episode, and within `graceMs` of its start the call fails with a TransientError reason
 * AuthorizationPending (retried with the work queue's back-off) naming the deadline. Later 403s on
 * that scope pass through to the classifier (AuthorizationFailed, terminal); any success on the
 * scope ends the episode, and a 403 after a quiet spell longer than the grace starts a new one.
 */
export class RolePropagationGrace {
  private readonly episodes = new Map<string, Episode>();

  constructor(private readonly graceMs = DEFAULT_ROLE_PROPAGATION_GRACE_MS, private readonly now: () => number = Date.now) {}

  /** `principal` keys the episodes of one credential (its cache key), since roles are per principal. */
  policy(principal: string): PipelinePolicy {
    return {
      name: "amlRolePropagationGrace",
      sendRequest: async (request, next) => {
        const key = `${principal}|${armScope(request.url)}`;
        let response: PipelineResponse;
        try {
          response = await next(request);
        } catch (e) {
          // The SDK's deserialization (below this policy) throws a RestError for a 403 it did not expect.
          if (isRestError(e) && e.statusCode === 403 && e.response) throw this.forbidden(key, request, e.response) ?? e;
          throw e;
        }
        if (response.status === 403) {
          const pending = this.forbidden(key, request, response);
          if (pending) throw pending;
        } else if (response.status < 400) {
          this.episodes.delete(key);
        }
        return response;
      },
    };
  }

  /** A 403 on `key`: the AuthorizationPending error while within the grace, else undefined (the 403 stands). */
  private forbidden(key: string, request: PipelineRequest, response: PipelineResponse): TransientError | undefined {
    const now = this.now();
    let episode = this.episodes.get(key);
    if (!episode || now - episode.last > this.graceMs) episode = { since: now, last: now };
    episode.last = now;
    this.episodes.set(key, episode);
    const until = episode.since + this.graceMs;
    if (now >= until) return undefined;
    const { code, message } = armError(response);
    return new TransientError(
      `ARM refused ${request.method} ${new URL(request.url).pathname} (403 ${code}: ${message}); a new role assignment takes minutes to reach ARM, so this is retried until ${new Date(until).toISOString()}, then reported as AuthorizationFailed`,
      undefined, { reason: TargetReason.AuthorizationPending },
    );
  }
}

/** The resource an ARM URL is about: /subscriptions/…/resourceGroups/…/providers/<ns>/<type>/<name>, lower case. */
export function armScope(url: string): string {
  return new URL(url).pathname.toLowerCase().split("/").slice(0, 9).join("/");
}

function armError(response: PipelineResponse): { code: string; message: string } {
  try {
    const body = JSON.parse(response.bodyAsText ?? "{}") as { error?: { code?: string; message?: string } };
    return { code: body.error?.code ?? "Forbidden", message: body.error?.message ?? "no detail" };
  } catch {
    return { code: "Forbidden", message: "no detail" };
  }
}
