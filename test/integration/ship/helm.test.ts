// The Helm chart: `helm lint`, `helm template | kubeconform -strict` against schemas of the pinned
// Kubernetes version, and what the templates must (not) render for the values that matter.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../../cluster/kubectl.js";
import { kubeSchemaDir } from "./kube-schemas.js";

const CHART = join(repoRoot, "deploy/helm/aml-compute-operator");
let helm = "";
let kubeconform = "";
let schemaDir = "";

interface Doc { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> | null }; [k: string]: unknown }
interface Container { env: { name: string; value?: string; valueFrom?: unknown }[]; securityContext: unknown; livenessProbe: { httpGet: unknown }; readinessProbe: { httpGet: unknown }; ports: unknown[]; volumeMounts: unknown[] }
type Deployment = Doc & { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; securityContext: unknown; hostNetwork?: boolean; dnsPolicy?: string } } } };
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

function tool(name: string): string {
  const r = spawnSync(join(repoRoot, "hack/tools.sh"), [name], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`hack/tools.sh ${name} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function run(bin: string, args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync(bin, args, { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function template(...args: string[]): { code: number; out: string } {
  return run(helm, ["template", "aml", CHART, "--namespace", "aml-system", ...args]);
}

function render(...args: string[]): Doc[] {
  const r = template(...args);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.out}`);
  return parseAllDocuments(r.out).map((d) => d.toJS() as Doc).filter(Boolean);
}

const find = (docs: Doc[], kind: string, name?: string): Doc | undefined =>
  docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));

function kubeconformOf(manifests: string): { code: number; out: string } {
  return run(kubeconform, ["-strict", "-ignore-missing-schemas", "-summary", "-schema-location", `${schemaDir}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, "-"], manifests);
}

beforeAll(() => {
  helm = tool("helm");
  kubeconform = tool("kubeconform");
  schemaDir = kubeSchemaDir(tool("k8s-openapi"));
});

describe("helm chart aml-compute-operator", () => {
  it("passes helm lint --strict, and its values schema rejects a misspelt key", () => {
    const ok = run(helm, ["lint", "--strict", CHART]);
    expect(ok.code, ok.out).toBe(0);
    const typo = run(helm, ["lint", CHART, "--set", "imag.tag=1"]);
    expect(typo.code).not.toBe(0);
    expect(typo.out).toMatch(/additional properties 'imag' not allowed|imag/);
  });

  it.each([
    ["defaults", []],
    ["HA with workload identity", ["--set", "replicaCount=3", "--set", "azureWorkloadIdentity.enabled=true", "--set", "azureWorkloadIdentity.clientId=00000000-0000-0000-0000-000000000000"]],
    ["one watched namespace", ["--set", "watchNamespace=team-a"]],
    ["local cluster (host network)", ["--set", "hostNetwork=true", "--set", "kubernetesApi.host=127.0.0.1", "--set", "kubernetesApi.port=6443", "--set", "crds.keep=false"]],
  ])("renders manifests kubeconform -strict finds valid: %s", (_name, args) => {
    const r = template(...(args as string[]));
    expect(r.code, r.out).toBe(0);
    const v = kubeconformOf(r.out);
    expect(v.code, v.out).toBe(0);
    // Every rendered kind has a schema here: nothing was silently skipped.
    expect(v.out).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
    expect(v.out).not.toMatch(/Valid: 0,/);
  });

  it("kubeconform with these schemas does reject an invalid Deployment (the check can fail)", () => {
    const bad = template().out.replace(/^ {2}replicas: 1$/m, "  replicas: one\n  replica: 1");
    const v = kubeconformOf(bad);
    expect(v.code).not.toBe(0);
    expect(v.out).toMatch(/Invalid: 1/);
  });

  it("installs the CRDs as templates behind crds.install, kept on uninstall behind crds.keep", () => {
    const crds = render().filter((d) => d.kind === "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(["computetargets.amlcompute.dev", "runconfigurations.amlcompute.dev", "sweeps.amlcompute.dev", "trainingruns.amlcompute.dev"]);
    for (const c of crds) expect(c.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    const notKept = render("--set", "crds.keep=false").filter((d) => d.kind === "CustomResourceDefinition");
    expect(notKept).toHaveLength(4);
    for (const c of notKept) expect(c.metadata.annotations?.["helm.sh/resource-policy"]).toBeUndefined();
    expect(render("--set", "crds.install=false").filter((d) => d.kind === "CustomResourceDefinition")).toHaveLength(0);
    // The chart's copies are the generated CRDs (make gen writes both).
    const generated = parseAllDocuments(readFileSync(join(repoRoot, "deploy/crds/amlcompute.dev_trainingruns.yaml"), "utf8"))[0]!.toJS() as Doc;
    expect(find(crds, "CustomResourceDefinition", "trainingruns.amlcompute.dev")?.spec).toEqual(generated.spec);
  });

  it("runs the operator restricted: non-root, read-only root, probes on 8081, metrics on 8080, its env", () => {
    const dep = find(render(), "Deployment") as Deployment;
    const pod = dep.spec.template.spec;
    const c = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "health" });
    expect(c.ports).toEqual([{ name: "metrics", containerPort: 8080, protocol: "TCP" }, { name: "health", containerPort: 8081, protocol: "TCP" }]);
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      LEADER_ELECT: "true", LOG_LEVEL: "info", HEALTH_PORT: "8081", METRICS_PORT: "8080",
      POD_NAME: { fieldRef: { fieldPath: "metadata.name" } }, POD_NAMESPACE: { fieldRef: { fieldPath: "metadata.namespace" } },
    });
    expect(env.KUBERNETES_SERVICE_HOST).toBeUndefined();
    expect(env.WATCH_NAMESPACE).toBeUndefined();
    // No node directory is allowed unless the administrator lists some.
    expect(env.LOCAL_ALLOWED_HOST_PATH_PREFIXES).toBeUndefined();
    expect(pod.hostNetwork).toBeUndefined();
    expect(c.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
  });

  it("passes the allowed node directories for Local environment caches, and refuses a relative one", () => {
    const dep = find(render("--set", "localTargets.allowedHostPathPrefixes={/var/lib/aml,/data/envs}"), "Deployment") as Deployment;
    expect(dep.spec.template.spec.containers[0]!.env).toContainEqual({ name: "LOCAL_ALLOWED_HOST_PATH_PREFIXES", value: "/var/lib/aml,/data/envs" });
    const bad = run(helm, ["lint", CHART, "--set", "localTargets.allowedHostPathPrefixes={var/lib}"]);
    expect(bad.code).not.toBe(0);
  });

  it("points in-cluster config at an explicit API server for host-network clusters", () => {
    const dep = find(render("--set", "hostNetwork=true", "--set", "kubernetesApi.host=127.0.0.1", "--set", "kubernetesApi.port=6443"), "Deployment") as Deployment;
    const env = dep.spec.template.spec.containers[0]!.env;
    expect(env).toContainEqual({ name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" });
    expect(env).toContainEqual({ name: "KUBERNETES_SERVICE_PORT", value: "6443" });
    expect(dep.spec.template.spec.hostNetwork).toBe(true);
    expect(dep.spec.template.spec.dnsPolicy).toBe("ClusterFirstWithHostNet");
  });

  it("grants least privilege: exactly the operator's verbs, Secrets' data by name only, Leases in its namespace", () => {
    const docs = render();
    const rules = (find(docs, "ClusterRole", "aml-aml-compute-operator") as Doc & { rules: Rule[] }).rules;
    const verbsOf = (group: string, resource: string): string[] =>
      rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs).sort();
    expect(verbsOf("amlcompute.dev", "trainingruns")).toEqual(["create", "get", "list", "patch", "update", "watch"]);
    expect(verbsOf("amlcompute.dev", "sweeps")).toEqual(["get", "list", "patch", "update", "watch"]);
    expect(verbsOf("amlcompute.dev", "sweeps/status")).toEqual(["update"]);
    expect(verbsOf("amlcompute.dev", "trainingruns/status")).toEqual(["update"]);
    expect(verbsOf("amlcompute.dev", "computetargets/finalizers")).toEqual(["update"]);
    expect(verbsOf("batch", "jobs")).toEqual(["create", "delete", "get", "list", "patch", "watch"]);
    expect(verbsOf("", "services")).toEqual(["create", "delete"]);
    expect(verbsOf("", "pods/log")).toEqual(["get", "list", "watch"]);
    expect(verbsOf("", "configmaps")).toEqual(["create", "delete", "get", "list", "watch"]);
    expect(verbsOf("", "secrets")).toEqual(["create", "delete", "get", "list", "watch"]);
    expect(verbsOf("events.k8s.io", "events")).toEqual(["create", "patch"]);
    expect(verbsOf("", "events")).toEqual(["list"]);
    for (const r of rules) {
      expect(r.verbs).not.toContain("*");
      expect(r.resources).not.toContain("*");
      expect(r.resources).not.toContain("customresourcedefinitions");
    }
    const role = find(docs, "Role") as Doc & { rules: Rule[] };
    expect(role.metadata.namespace).toBe("aml-system");
    expect(role.rules).toEqual([{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] }]);
    expect(find(docs, "ClusterRole", "aml-aml-compute-operator-view")?.metadata.labels).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-view": "true" });
    expect(find(docs, "ClusterRole", "aml-aml-compute-operator-edit")?.metadata.labels).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-edit": "true" });
  });

  it("with watchNamespace, scopes the operator: WATCH_NAMESPACE and a Role there instead of a ClusterRole", () => {
    const docs = render("--set", "watchNamespace=team-a");
    expect(find(docs, "ClusterRole", "aml-aml-compute-operator")).toBeUndefined();
    expect(find(docs, "ClusterRoleBinding")).toBeUndefined();
    const role = find(docs, "Role", "aml-aml-compute-operator") as Doc & { rules: Rule[] };
    expect(role.metadata.namespace).toBe("team-a");
    expect(role.rules).toEqual((find(render(), "ClusterRole", "aml-aml-compute-operator") as Doc & { rules: Rule[] }).rules);
    expect(find(docs, "RoleBinding", "aml-aml-compute-operator")).toMatchObject({
      metadata: { namespace: "team-a" }, roleRef: { kind: "Role", name: "aml-aml-compute-operator" },
      subjects: [{ kind: "ServiceAccount", name: "aml-aml-compute-operator", namespace: "aml-system" }],
    });
    const dep = find(docs, "Deployment") as Deployment;
    expect(dep.spec.template.spec.containers[0]!.env).toContainEqual({ name: "WATCH_NAMESPACE", value: "team-a" });
    expect(template("--set", "watchNamespace=Not_A_Namespace").code).not.toBe(0);
  });

  it("renders a PodDisruptionBudget only with more than one replica", () => {
    expect(find(render(), "PodDisruptionBudget")).toBeUndefined();
    expect(find(render("--set", "replicaCount=2"), "PodDisruptionBudget")).toMatchObject({ spec: { minAvailable: 1 } });
  });

  it("renders the ServiceMonitor only when enabled and the cluster serves monitoring.coreos.com/v1", () => {
    expect(find(render("--set", "metrics.serviceMonitor.enabled=true"), "ServiceMonitor")).toBeUndefined();
    const sm = find(render("--set", "metrics.serviceMonitor.enabled=true", "--api-versions", "monitoring.coreos.com/v1"), "ServiceMonitor");
    expect(sm).toMatchObject({ spec: { endpoints: [{ port: "metrics", path: "/metrics" }] } });
    expect(find(render(), "Service")).toMatchObject({ spec: { ports: [{ name: "metrics", port: 8080, targetPort: "metrics" }] } });
  });

  it("wires Azure Workload Identity into the ServiceAccount and the pod", () => {
    const docs = render("--set", "azureWorkloadIdentity.enabled=true", "--set", "azureWorkloadIdentity.clientId=cid", "--set", "azureWorkloadIdentity.tenantId=tid");
    expect(find(docs, "ServiceAccount")?.metadata.annotations).toMatchObject({ "azure.workload.identity/client-id": "cid", "azure.workload.identity/tenant-id": "tid" });
    const dep = find(docs, "Deployment") as Deployment;
    expect(dep.spec.template.metadata.labels["azure.workload.identity/use"]).toBe("true");
    const missing = template("--set", "azureWorkloadIdentity.enabled=true");
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain("azureWorkloadIdentity.clientId is required");
  });
});
