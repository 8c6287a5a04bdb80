import { RestError, createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { RequestBudgetExhausted, SubscriptionBudget } from "../shared/azure/budget.js";
import { parseRetryAfterMs } from "../../runtime/errors.js";
import { classifyArmError } from "../shared/azure/errors.js";
import { mapJobStatus } from "./executor.js";

function armError(status: number, code: string, message: string, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: "https://management.azure.com/subscriptions/s/x" });
  return new RestError(message, {
    code, statusCode: status, request,
    response: { status, headers: createHttpHeaders(headers), request, bodyAsText: JSON.stringify({ error: { code, message } }) },
  });
}

describe("classifyArmError", () => {
  it.each([
    ["429 is Throttled with Retry-After", armError(429, "TooManyRequests", "slow down", { "retry-after": "7" }), TransientError, "Throttled", 7000],
    ["503 is transient", armError(503, "ServiceUnavailable", "later"), TransientError, "AzureError", undefined],
    ["409 AnotherOperationInProgress is transient", armError(409, "Conflict", "busy"), TransientError, "AzureError", undefined],
    ["401 is AuthenticationFailed", armError(401, "InvalidAuthenticationToken", "bad token"), TerminalError, "AuthenticationFailed", undefined],
    ["403 is AuthorizationFailed", armError(403, "AuthorizationFailed", "no role"), TerminalError, "AuthorizationFailed", undefined],
    ["QuotaExceeded is terminal", armError(400, "QuotaExceeded", "Operation results in exceeding quota limits"), TerminalError, "QuotaExceeded", undefined],
    ["a bad vm size is InvalidVmSize", armError(400, "BadArgument", "The specified vm size 'X' is not supported"), TerminalError, "InvalidVmSize", undefined],
    ["another 400 is terminal AzureError", armError(400, "BadRequest", "nope"), TerminalError, "AzureError", undefined],
    ["a spent budget is Throttled", new RequestBudgetExhausted("sub", 1234), TransientError, "Throttled", 1234],
    ["Entra unreachable (MSAL network_error → CredentialUnavailableError) is retried", Object.assign(new Error("network_error: See https://aka.ms/msal.js.errors#network_error for details"), { name: "CredentialUnavailableError" }), TransientError, "AuthenticationFailed", 30000],
  ])("%s", (...[, err, cls, reason, retryAfterMs]) => {
    const c = classifyArmError(err, "op");
    expect(c).toBeInstanceOf(cls);
    expect((c as TransientError | TerminalError).reason).toBe(reason);
    if (retryAfterMs !== undefined) expect((c as TransientError).retryAfterMs).toBe(retryAfterMs);
  });
});

describe("SubscriptionBudget", () => {
  it("admits calls while tokens last, charges every request, and closes for a 429's Retry-After", () => {
    let now = 0;
    const b = new SubscriptionBudget(2, 3, () => now);
    b.admit("s");
    for (let i = 0; i < 2; i++) b.charge("s"); // an admitted call sends its requests
    expect(() => b.admit("s")).toThrow(RequestBudgetExhausted);
    b.admit("other"); // budgets are per subscription
    now += 500;
    b.admit("s");
    b.block("s", 5000);
    expect(() => b.charge("s")).toThrow(RequestBudgetExhausted); // an admitted call stops too
    now += 4000;
    expect(() => b.admit("s")).toThrow(/next request in 1s/);
    now += 1000;
    b.admit("s");
  });
  it("debt is bounded, so a storm cannot starve a subscription for long", () => {
    let now = 0;
    const b = new SubscriptionBudget(1, 2, () => now);
    for (let i = 0; i < 100; i++) b.charge("s");
    now += 2000;
    expect(() => b.admit("s")).toThrow(RequestBudgetExhausted);
    now += 1000;
    b.admit("s");
  });
  it("parses Retry-After seconds and dates", () => {
    expect(parseRetryAfterMs("3")).toBe(3000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfterMs("soon")).toBeUndefined();
  });
});

describe("job status mapping and command quoting", () => {
  it.each([
    ["NotStarted", "Queued"], ["Queued", "Queued"], ["Provisioning", "Queued"], ["Preparing", "Preparing"],
    ["Starting", "Starting"], ["Running", "Running"], ["Finalizing", "Running"], ["CancelRequested", "Running"],
    ["NotResponding", "Running"], ["Paused", "Queued"], ["Unknown", "Running"], ["Completed", "Succeeded"],
    ["Failed", "Failed"], ["Canceled", "Failed"],
  ])("%s → %s", (azure, state) => {
    expect(mapJobStatus(azure).state).toBe(state);
  });
});
