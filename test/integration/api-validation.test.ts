// The CRDs as the real apiserver enforces them: valid examples are accepted, invalid manifests are
// rejected at apply time with the rule's message (server-side dry run: nothing is stored).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createNamespace, kubectl, repoRoot, requireCluster } from "../cluster/kubectl.js";
import { installCrds } from "../e2e/support/operator.js";

const V = "amlcompute.dev/v1alpha1";
let ns = "";

async function dryRun(obj: object): Promise<{ code: number; stderr: string }> {
  const r = await kubectl(["apply", "--dry-run=server", "-n", ns, "-f", "-"], { input: JSON.stringify(obj), allowFail: true });
  return { code: r.code, stderr: r.stderr };
}

const target = (spec: Record<string, unknown>) => ({ apiVersion: V, kind: "ComputeTarget", metadata: { name: "t" }, spec });
const rc = (spec: Record<string, unknown>) => ({ apiVersion: V, kind: "RunConfiguration", metadata: { name: "c" }, spec: { computeTargetRef: { name: "t" }, ...spec } });
const run = (spec: Record<string, unknown>) => ({
  apiVersion: V, kind: "TrainingRun", metadata: { name: "r" },
  spec: { runConfigurationRef: { name: "c" }, script: "train.py", source: { inline: { files: [{ path: "train.py", content: "print(1)" }] } }, ...spec },
});
const ssh = { address: "10.0.0.4", username: "azureuser", credentialsSecretRef: { name: "vm" }, hostKey: { fingerprint: `SHA256:${"A".repeat(43)}` } };

describe("CRD schemas and CEL rules on the real apiserver", () => {
  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("api");
  });

  it("accepts every example manifest in examples/", async () => {
    const dirs = readdirSync(join(repoRoot, "examples"), { withFileTypes: true }).filter((d) => d.isDirectory());
    const files = dirs.flatMap((d) => readdirSync(join(repoRoot, "examples", d.name)).filter((f) => f.endsWith(".yaml")).map((f) => join(d.name, f)));
    const docs = files.flatMap((file) => parseAllDocuments(readFileSync(join(repoRoot, "examples", file), "utf8")).map((doc) => ({ file, obj: doc.toJS() as { kind?: string } | null })));
    const ours = docs.filter(({ obj }) => obj?.kind && obj.kind !== "Secret" && obj.kind !== "Namespace");
    expect(ours.length).toBeGreaterThan(0);
    for (const { file, obj } of ours) {
      // Examples may name their own namespace; the schema check runs in the test's.
      const { metadata, ...rest } = obj as { metadata?: Record<string, unknown> };
      const r = await dryRun({ ...rest, metadata: { ...metadata, namespace: undefined } });
      expect({ file, code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    }
  });

  it.each([
    ["a type without its block", target({ type: "RemoteVM" }), "spec.remoteVM is required when type is RemoteVM"],
    ["a block of another type", target({ type: "Local", remoteVM: ssh }), "spec.remoteVM is only allowed when type is RemoteVM"],
    ["an unknown type", target({ type: "Kubernetes" }), "Unsupported value: \"Kubernetes\""],
    ["minNodes above maxNodes", target({ type: "AmlCompute", amlCompute: { workspace: { subscriptionId: "s", resourceGroup: "g", name: "w" }, vmSize: "STANDARD_D2_V2", minNodes: 5, maxNodes: 2 } }), "minNodes must be less than or equal to maxNodes"],
    ["provisioning without vmSize", target({ type: "AmlCompute", amlCompute: { workspace: { subscriptionId: "s", resourceGroup: "g", name: "w" } } }), "vmSize is required when mode is Provision"],
    ["a two-character compute name", target({ type: "AmlCompute", amlCompute: { workspace: { subscriptionId: "s", resourceGroup: "g", name: "w" }, vmSize: "STANDARD_D2_V2", computeName: "ab" } }), "spec.amlCompute.computeName: Invalid value"],
    ["a compute name ending in - and digits", target({ type: "AmlCompute", amlCompute: { workspace: { subscriptionId: "s", resourceGroup: "g", name: "w" }, vmSize: "STANDARD_D2_V2", computeName: "gpu-1" } }), "spec.amlCompute.computeName: Invalid value"],
    ["a Databricks personal-access-token target without tokenSecretRef", target({ type: "Databricks", databricks: { workspaceUrl: "https://adb-1.2.azuredatabricks.net" } }), "tokenSecretRef is required when authentication is PersonalAccessToken"],
    ["an inline password", target({ type: "RemoteVM", remoteVM: { ...ssh, password: "hunter2" } }), "unknown field \"spec.remoteVM.password\""],
    ["a VM without a pinned host key", target({ type: "RemoteVM", remoteVM: { ...ssh, hostKey: {} } }), "set exactly one of hostKey.fingerprint and hostKey.knownHostsSecretRef"],
    ["a negative node count", rc({ nodeCount: 0 }), "spec.nodeCount: Invalid value: 0"],
    ["both environment kinds", rc({ environment: { systemManaged: {}, userManaged: {} } }), "environment is either systemManaged or userManaged, not both"],
    ["two source kinds", run({ source: { inline: { files: [{ path: "a.py", content: "" }] }, configMap: { name: "x" } } }), "exactly one of inline, configMap, snapshot, git, image must be set for source"],
    ["no source kind", run({ source: {} }), "exactly one of inline, configMap, snapshot, git, image must be set for source"],
    ["script and command", run({ command: ["python", "x.py"] }), "exactly one of script, command must be set for the run"],
    ["no run configuration", run({ runConfigurationRef: undefined }), "set runConfigurationRef, or runConfiguration.computeTargetRef"],
    ["a path escaping the snapshot", run({ source: { inline: { files: [{ path: "../etc/passwd", content: "" }] } } }), "path must be relative, without '..' or empty segments"],
    ["a negative backoffLimit", run({ backoffLimit: -1 }), "spec.backoffLimit: Invalid value: -1"],
  ])("rejects %s", async (_name, obj, message) => {
    const r = await dryRun(obj);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  it("refuses to change a target's type", async () => {
    await kubectl(["apply", "-n", ns, "-f", "-"], { input: JSON.stringify(target({ type: "Local" })) });
    const r = await dryRun(target({ type: "DataLakeAnalytics", dataLakeAnalytics: { accountName: "a" } }));
    expect(r.stderr).toContain("type is immutable");
  });

  it("lists all three kinds under `kubectl get aml` with useful columns", async () => {
    await kubectl(["apply", "-n", ns, "-f", "-"], { input: JSON.stringify(rc({})) });
    const r = await kubectl(["get", "aml", "-n", ns]);
    expect(r.stdout).toMatch(/NAME\s+TYPE\s+READY\s+REASON\s+RUNNING\s+AGE/);
    expect(r.stdout).toMatch(/NAME\s+TARGET\s+FRAMEWORK\s+READY\s+REASON\s+AGE/);
    expect(r.stdout).toContain("computetarget.amlcompute.dev/t");
  });
});
