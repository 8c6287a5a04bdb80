import { describe, expect, it } from "vitest";
import { aComputeTarget, ready } from "../../../test/fixtures/builders.js";
import { decideTargetStatus, providerNotAvailable } from "./decide.js";

const now = new Date("2025-01-01T00:00:00Z");

describe("decideTargetStatus", () => {
  it("reports a type without a provider as ProviderNotAvailable, severity Error", () => {
    const status = decideTargetStatus(aComputeTarget(), providerNotAvailable("HDInsight"), now);
    expect(status.conditions?.[0]).toMatchObject({ type: "Ready", status: "False", reason: "ProviderNotAvailable", severity: "Error", observedGeneration: 1 });
    expect(status.conditions?.[0]?.message).toContain("HDInsight");
  });

  it("merges provider status fields, keeps the transition time of an unchanged Ready, and drops severity when True", () => {
    const before = aComputeTarget(ready("True"));
    const status = decideTargetStatus(before, { ready: { status: "True", reason: "Ready", message: "ok" }, status: { provisioningState: "Succeeded" } }, now);
    expect(status.provisioningState).toBe("Succeeded");
    expect(status.conditions?.[0]?.lastTransitionTime).toBe("2025-01-01T00:00:00Z");
    expect(status.conditions?.[0]?.severity).toBeUndefined();
  });

  it("defaults the severity of a False Ready to Warning", () => {
    const status = decideTargetStatus(aComputeTarget(), { ready: { status: "False", reason: "Unreachable", message: "no route" } }, now);
    expect(status.conditions?.[0]).toMatchObject({ status: "False", severity: "Warning" });
  });
});
