/**
 * Jobs_CreateOrUpdate sent as JSON through the client's own pipeline (its credential, retries and
 * request budget) to the ARM endpoint the client was made for, not through `jobs.createOrUpdate`: the serializer of @azure/arm-machinelearning 2.1.1
 * knows only the `literal` kind of JobInput and writes a `uri_file` input as
 * `{"jobInputType":"uri_file"}` without its `uri` and `mode`, which the service refuses
 * (Azure/azure-sdk-for-js#29328). The body is the documented CommandJob shape
 * (Microsoft.MachineLearningServices 2022-10-01, mfe.json, JobBaseResource).
 */
import type { AzureMachineLearningWorkspaces, CommandJob } from "@azure/arm-machinelearning";
import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";

export async function putCommandJob(arm: AzureMachineLearningWorkspaces, at: { endpoint: string; rg: string; ws: string; name: string }, job: CommandJob): Promise<void> {
  const path = `/subscriptions/${encodeURIComponent(arm.subscriptionId)}/resourceGroups/${encodeURIComponent(at.rg)}` +
    `/providers/Microsoft.MachineLearningServices/workspaces/${encodeURIComponent(at.ws)}/jobs/${encodeURIComponent(at.name)}`;
  const request = createPipelineRequest({
    url: `${at.endpoint.replace(/\/+$/, "")}${path}?api-version=${encodeURIComponent(arm.apiVersion)}`,
    method: "PUT",
    headers: createHttpHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
    body: JSON.stringify({ properties: job }),
  });
  const response = await arm.sendRequest(request);
  if (response.status < 400) return;
  // The ARM error body, as the SDK would have raised it: classifyArmError reads code and status.
  let code: string | undefined;
  let message = `HTTP ${response.status}`;
  try {
    const body = JSON.parse(response.bodyAsText ?? "") as { error?: { code?: string; message?: string } };
    code = body.error?.code;
    message = body.error?.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  throw new RestError(message, { statusCode: response.status, ...(code ? { code } : {}), request, response });
}
