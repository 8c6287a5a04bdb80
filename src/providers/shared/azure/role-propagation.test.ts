import { createHttpHeaders, createPipelineRequest, type PipelineResponse, type SendRequest } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { TransientError } from "../../../runtime/errors.js";
import { armScope, RolePropagationGrace } from "./role-propagation.js";

const WS = "https://management.azure.com/subscriptions/s/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/ws";
const answer = (status: number): SendRequest => async (request) => ({
  request, status, headers: createHttpHeaders(), bodyAsText: JSON.stringify({ error: { code: "AuthorizationFailed", message: "no role" } }),
}) as PipelineResponse;

describe("RolePropagationGrace", () => {
  it("keys a 403 by the resource the request is about", () => {
    expect(armScope(`${WS}/computes/cpu?api-version=2022-10-01`)).toBe("/subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/ws");
  });

  it("a 403 is AuthorizationPending within the grace, stands after it, and a success ends the episode", async () => {
    let now = 0;
    const policy = new RolePropagationGrace(60_000, () => now).policy("principal");
    const send = (status: number) => policy.sendRequest(createPipelineRequest({ url: `${WS}/computes/cpu` }), answer(status));
    await expect(send(403)).rejects.toMatchObject({ reason: "AuthorizationPending", message: expect.stringContaining("1970-01-01T00:01:00.000Z") });
    now = 50_000;
    await expect(send(403)).rejects.toBeInstanceOf(TransientError);
    now = 60_000;
    expect((await send(403)).status).toBe(403); // the classifier makes it AuthorizationFailed
    expect((await send(200)).status).toBe(200);
    now = 70_000;
    await expect(send(403)).rejects.toMatchObject({ reason: "AuthorizationPending" });
  });
});
