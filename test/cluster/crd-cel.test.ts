// The real apiserver enforces structural CRD schemas with CEL x-kubernetes-validations rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, createNamespace, deleteNamespace, kubectl, kubectlJson, requireCluster, uniqueName, waitFor } from "./kubectl.js";

const MESSAGE = "minReplicas must not exceed maxReplicas";

describe("local cluster: CRD with a CEL validation rule", () => {
  let ns = "";
  const group = `${uniqueName("cel")}.test.aml.dev`;
  const crdName = `scalers.${group}`;
  beforeAll(async () => {
    await requireCluster();
    ns = await createNamespace("cluster-cel");
    await apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: crdName },
      spec: {
        group,
        scope: "Namespaced",
        names: { plural: "scalers", singular: "scaler", kind: "Scaler", listKind: "ScalerList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: {
                    type: "object",
                    required: ["minReplicas", "maxReplicas"],
                    properties: { minReplicas: { type: "integer" }, maxReplicas: { type: "integer" } },
                    "x-kubernetes-validations": [{ rule: "self.minReplicas <= self.maxReplicas", message: MESSAGE }],
                  },
                },
              },
            },
          },
        ],
      },
    });
    await waitFor("CRD to be Established", 60_000, async () => {
      const crd = await kubectlJson<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(["get", "crd", crdName]);
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    });
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
    await kubectl(["delete", "crd", crdName, "--wait=false", "--ignore-not-found"], { allowFail: true });
  });

  const scaler = (name: string, minReplicas: number, maxReplicas: number) => ({
    apiVersion: `${group}/v1`,
    kind: "Scaler",
    metadata: { name, namespace: ns },
    spec: { minReplicas, maxReplicas },
  });

  it("rejects an invalid object with the rule's message", async () => {
    const r = await kubectl(["create", "-f", "-"], { input: JSON.stringify(scaler("bad", 5, 2)), allowFail: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(MESSAGE);
    expect(r.stderr).toContain("Invalid");
  });

  it("accepts a valid object", async () => {
    await kubectl(["create", "-f", "-"], { input: JSON.stringify(scaler("good", 1, 3)) });
    const got = await kubectlJson<{ spec: { maxReplicas: number } }>(["-n", ns, "get", "scalers", "good"]);
    expect(got.spec.maxReplicas).toBe(3);
  });
});
