import { createHttpHeaders, createPipelineRequest, RestError, type PipelineResponse } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { RequestBudgetExhausted, SubscriptionBudget } from "./budget.js";

const URL_OF = "https://management.azure.com/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

describe("SubscriptionBudget policy", () => {
  it("closes the subscription for ARM's Retry-After also when the SDK throws the 429 (deserialization below the policy)", async () => {
    const now = 1_000_000;
    const budget = new SubscriptionBudget(100, 100, () => now);
    const request = createPipelineRequest({ url: URL_OF });
    const response = { request, status: 429, headers: createHttpHeaders({ "retry-after": "30" }) } as PipelineResponse;
    const thrown = new RestError("Too many requests", { statusCode: 429, response });
    await expect(budget.policy().sendRequest(request, async () => { throw thrown; })).rejects.toBe(thrown);
    expect(() => budget.admit("sub-1")).toThrow(RequestBudgetExhausted);
    expect(() => budget.admit("sub-2")).not.toThrow();
  });
});
