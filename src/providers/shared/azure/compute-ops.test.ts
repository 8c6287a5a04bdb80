import { describe, expect, it } from "vitest";
import { operationOutcome, operationStatusUrl } from "./compute-ops.js";

describe("ARM asynchronous operation status", () => {
  it.each([
    [{ status: "Succeeded" }, { done: true }],
    [{ status: "InProgress" }, { done: false }],
    [{ status: "Creating" }, { done: false }],
    [{ status: "Failed", error: { code: "QuotaExceeded", message: "not enough cores" } }, { done: true, failed: { code: "QuotaExceeded", message: "not enough cores" } }],
    [{ status: "Canceled" }, { done: true, failed: { code: "Canceled" } }],
    // A message that merely mentions a failure decides nothing: only status and error.code do.
    [{ status: "InProgress", error: { code: "Info", message: "a node failed and is being replaced" } }, { done: false }],
    [{}, { done: false }],
  ])("%j → %j", (body, expected) => {
    expect(operationOutcome(body)).toMatchObject(expected);
  });

  it("reads the operation URL from core-lro's serialized poller state, and nothing from anything else", () => {
    const url = "https://management.azure.com/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westeurope/computeOperationsStatus/1?api-version=2022-10-01";
    expect(operationStatusUrl(JSON.stringify({ state: { status: "running", config: { metadata: { mode: "OperationLocation" }, operationLocation: url } } }))).toBe(url);
    expect(operationStatusUrl(JSON.stringify({ state: { status: "running", config: {} } }))).toBeUndefined();
    expect(operationStatusUrl("not json")).toBeUndefined();
  });
});
