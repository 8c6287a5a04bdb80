import type { ComputeResource } from "@azure/arm-machinelearning";
import { describe, expect, it } from "vitest";
import type { AmlComputeTargetSpec } from "../../api/v1alpha1/index.js";
import { OWNER_UID_TAG, type ComputeParams } from "../shared/azure/compute-ops.js";
import { decideAmlCompute, type AmlComputeWorld } from "./compute-decide.js";

const timings = { operationPollMs: 5_000, resyncMs: 300_000 };
const spec = (extra: Partial<AmlComputeTargetSpec> = {}): AmlComputeTargetSpec => ({
  mode: "Provision", workspace: { subscriptionId: "s", resourceGroup: "rg", name: "ws" }, vmSize: "STANDARD_DS3_V2",
  vmPriority: "Dedicated", minNodes: 0, maxNodes: 4, idleSecondsBeforeScaleDown: 120, adopt: false, ...extra,
} as AmlComputeTargetSpec);
const params: ComputeParams = { computeName: "cpu", vmSize: "STANDARD_DS3_V2", vmPriority: "Dedicated", minNodes: 0, maxNodes: 4, idleSecondsBeforeScaleDown: 120, tags: { [OWNER_UID_TAG]: "uid-1" } };
const compute = (state: string, extra: { owner?: string; type?: string; maxNodes?: number; vmSize?: string; subnetId?: string } = {}): ComputeResource => ({
  id: "/subscriptions/s/.../computes/cpu",
  tags: { [OWNER_UID_TAG]: extra.owner ?? "uid-1" },
  properties: {
    computeType: extra.type ?? "AmlCompute", provisioningState: state,
    properties: { vmSize: extra.vmSize ?? "STANDARD_DS3_V2", vmPriority: "Dedicated", ...(extra.subnetId ? { subnet: { id: extra.subnetId } } : {}), scaleSettings: { minNodeCount: 0, maxNodeCount: extra.maxNodes ?? 4, nodeIdleTimeBeforeScaleDown: "PT120S" } },
  },
} as unknown as ComputeResource);
const SUBNET = "/subscriptions/s/resourceGroups/RG-Net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-a";
const world = (extra: Partial<AmlComputeWorld> = {}): AmlComputeWorld => ({ spec: spec(), name: "cpu", uid: "uid-1", params, ...extra });
const op = { kind: "create" as const, computeName: "cpu", startedAt: "2025-01-01T00:00:00Z", poller: "{}" };

describe("decideAmlCompute", () => {
  it.each([
    ["creates a missing compute", world(), "Create", ["False", "Provisioning"]],
    ["watches its create in flight, without a second PUT", world({ resumed: { op, done: false } }), "None", ["False", "Provisioning"]],
    ["reports a create that failed and left nothing", world({ resumed: { op, done: true, failed: "AllocationFailed" } }), "None", ["False", "ProvisioningFailed"]],
    ["is Ready when Azure has the compute as specified", world({ compute: compute("Succeeded") }), "None", ["True", "Ready"]],
    ["updates scale settings in place on drift", world({ compute: compute("Succeeded", { maxNodes: 2 }) }), "Update", ["False", "Provisioning"]],
    ["refuses to change an immutable field", world({ compute: compute("Succeeded", { vmSize: "STANDARD_NC6" }) }), "None", ["False", "InvalidSpec"]],
    ["compares subnet ids as ARM does, without regard to case", world({ params: { ...params, subnetId: `${SUBNET}/` }, compute: compute("Succeeded", { subnetId: SUBNET.toLowerCase() }) }), "None", ["True", "Ready"]],
    ["refuses to change the subnet", world({ params: { ...params, subnetId: SUBNET }, compute: compute("Succeeded", { subnetId: SUBNET.replace("snet-a", "snet-b") }) }), "None", ["False", "InvalidSpec"]],
    ["refuses to add a subnet", world({ params: { ...params, subnetId: SUBNET }, compute: compute("Succeeded") }), "None", ["False", "InvalidSpec"]],
    ["never touches a compute it did not create", world({ compute: compute("Succeeded", { owner: "someone" }) }), "None", ["False", "AlreadyExists"]],
    ["manages a foreign compute with adopt", world({ spec: spec({ adopt: true }), compute: compute("Succeeded", { owner: "someone" }) }), "None", ["True", "Ready"]],
    ["watches a create it lost track of instead of re-sending it", world({ compute: compute("Creating") }), "None", ["False", "Provisioning"]],
    ["says when Azure is deleting the compute", world({ compute: compute("Deleting") }), "None", ["False", "Deleting"]],
    ["attaches an existing AmlCompute", world({ spec: spec({ mode: "Attach" }), compute: compute("Succeeded", { owner: "someone" }) }), "None", ["True", "Attached"]],
    ["never creates in Attach mode", world({ spec: spec({ mode: "Attach" }) }), "None", ["False", "ComputeNotFound"]],
    ["refuses to attach another compute type", world({ spec: spec({ mode: "Attach" }), compute: compute("Succeeded", { type: "Kubernetes" }) }), "None", ["False", "InvalidSpec"]],
  ] as const)("%s", (_name, w, action, [status, reason]) => {
    const plan = decideAmlCompute(w, timings);
    expect(plan.action.kind).toBe(action);
    expect(plan.observation.ready).toMatchObject({ status, reason });
  });

  it("clears a finished or stale operation from status", () => {
    expect(decideAmlCompute(world({ resumed: { op, done: true }, compute: compute("Succeeded") }), timings).observation.status).toMatchObject({ operation: undefined });
    expect(decideAmlCompute(world({ staleOperation: true, compute: compute("Succeeded") }), timings).observation.status).toHaveProperty("operation", undefined);
  });

  it("reports a failed provisioning with Azure's reason", () => {
    const failed = compute("Failed");
    (failed.properties as { provisioningErrors?: unknown }).provisioningErrors = [{ error: { code: "QuotaExceeded", message: "not enough cores" } }];
    expect(decideAmlCompute(world({ compute: failed }), timings).observation.ready).toMatchObject({ status: "False", reason: "QuotaExceeded" });
  });
});
