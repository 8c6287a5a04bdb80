import { isRestError, type PipelinePolicy, type PipelineResponse } from "@azure/core-rest-pipeline";
import { parseRetryAfterMs } from "../../../runtime/errors.js";

/** Thrown before a request leaves when a subscription's budget is spent; never reaches ARM. */
export class RequestBudgetExhausted extends Error {
  override readonly name = "RequestBudgetExhausted";
  constructor(readonly subscriptionId: string, readonly retryAfterMs: number) {
    super(`ARM request budget for subscription ${subscriptionId} is spent; next request in ${Math.ceil(retryAfterMs / 1000)}s`);
  }
}

interface Bucket { tokens: number; last: number; blockedUntil: number }

/**
 * One token bucket per subscription, shared by every client of the provider, so 100 targets in a
 * subscription together stay under `perSecond` (with `burst`).
 *
 * Admission, not per-request gating: a provider call (one ensure/release/submit/observe) is
 * admitted when the bucket holds a token, and its few requests (GET, PUT, one poll) then all go
 * out, each charged to the bucket, which may go into (bounded) debt that later admissions repay. Gating each
 * request separately livelocks under contention (every call spends its first token and is refused
 * its second). A 429 from ARM closes the bucket for its Retry-After: every target of that
 * subscription then holds off, and requests of calls already admitted fail fast too. Nothing sleeps
 * inside a reconcile: a refused call throws RequestBudgetExhausted and the queue requeues the key.
 */
export class SubscriptionBudget {
  private readonly buckets = new Map<string, Bucket>();
  constructor(private readonly perSecond: number, private readonly burst: number, private readonly now: () => number = Date.now) {}

  private bucket(sub: string): Bucket {
    const key = sub.toLowerCase();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, last: this.now(), blockedUntil: 0 };
      this.buckets.set(key, b);
    }
    const now = this.now();
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) / 1000) * this.perSecond);
    b.last = now;
    return b;
  }

  /**
   * Admits one provider call (taking a token, so concurrent calls cannot all pass on the same
   * token) or throws RequestBudgetExhausted (nothing is sent). Its requests are charged on top:
   * conservative, requests/s stays below `perSecond`.
   */
  admit(sub: string): void {
    const b = this.bucket(sub);
    const now = this.now();
    if (now < b.blockedUntil) throw new RequestBudgetExhausted(sub, b.blockedUntil - now);
    if (b.tokens < 1) throw new RequestBudgetExhausted(sub, Math.ceil(((1 - b.tokens) / this.perSecond) * 1000));
    b.tokens -= 1;
  }

  /** Charges one request; throws only while ARM's Retry-After holds. */
  charge(sub: string): void {
    const b = this.bucket(sub);
    const now = this.now();
    if (now < b.blockedUntil) throw new RequestBudgetExhausted(sub, b.blockedUntil - now);
    b.tokens = Math.max(-this.burst, b.tokens - 1);
  }

  /** ARM said 429: nobody in this subscription sends until the Retry-After has passed. */
  block(sub: string, ms: number): void {
    const b = this.bucket(sub);
    b.blockedUntil = Math.max(b.blockedUntil, this.now() + ms);
  }

  policy(): PipelinePolicy {
    return {
      name: "amlSubscriptionBudget",
      sendRequest: async (request, next) => {
        const sub = /\/subscriptions\/([^/?]+)/i.exec(new URL(request.url).pathname)?.[1] ?? "-";
        this.charge(sub);
        const throttled = (retryAfter: string | undefined | null): void => this.block(sub, parseRetryAfterMs(retryAfter) ?? 10_000);
        let response: PipelineResponse;
        try {
          response = await next(request);
        } catch (e) {
          // An SDK operation's deserialization (below this policy) throws the 429 as a RestError.
          if (isRestError(e) && e.statusCode === 429) throttled(e.response?.headers.get("retry-after"));
          throw e;
        }
        if (response.status === 429) throttled(response.headers.get("retry-after"));
        return response;
      },
    };
  }
}
