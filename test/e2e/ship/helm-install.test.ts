// The shipped artifacts end to end: the image built offline (hack/build-image.sh: local Node 24
// base, Dockerfile, import into the cluster's containerd), the Helm chart installed into the local
// cluster with it (scoped to the test namespace), and an example TrainingRun completed by the
// operator pod — not by some other operator process that may be running against the same cluster.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusterKubeconfig, createNamespace, deleteNamespace, kubectl, kubectlJson, repoRoot, requireCluster, uniqueName, waitFor,
} from "../../cluster/kubectl.js";
import { apply, localTarget, runConfiguration, scriptRun, waitForPhase } from "../support/aml.js";
import { freePort, installCrds } from "../support/operator.js";
import { clusterServicesEnv } from "../support/services.js";

const CHART = join(repoRoot, "deploy/helm/aml-compute-operator");
const IMAGE = "localhost/aml-compute-operator:e2e";

function sh(cmd: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 300_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

async function must(cmd: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const r = await sh(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${r.out.slice(-4000)}`);
  return r.out;
}

const CTR_SOCK = join(repoRoot, ".cluster/run/containerd.sock");
const ctr = (...a: string[]): Promise<{ code: number; out: string }> => sh("ctr", ["--address", CTR_SOCK, "-n", "k8s.io", ...a]);

/**
 * Removes the operator image from the cluster's containerd once no container uses it. The CRI
 * plugin also names it by its id (sha256:<config>), so both names go, with a synchronous GC: its
 * unpacked layers live under .cluster/ in the checkout and would otherwise stay there for good.
 */
async function removeImageFromCluster(): Promise<void> {
  await waitFor("operator containers removed", 120_000, async () => !(await ctr("containers", "ls")).out.includes(IMAGE)).catch(() => undefined);
  const id = (await sh("docker", ["image", "inspect", "--format", "{{.Id}}", IMAGE])).out.trim();
  await ctr("images", "rm", "--sync", IMAGE, ...(id.startsWith("sha256:") ? [id] : []));
}

describe("Helm install of the locally built image", () => {
  const release = uniqueName("aml");
  let helm = "";
  let system = "";
  let ns = "";
  let installed = false;
  const helmArgs = (...a: string[]): string[] => ["--kubeconfig", clusterKubeconfig, ...a];

  beforeAll(async () => {
    await requireCluster();
    helm = (await must(join(repoRoot, "hack/tools.sh"), ["helm"])).trim().split("\n").pop()!;
    // Builds (or reuses from Docker's layer cache) and imports into containerd; several minutes the first time.
    await must(join(repoRoot, "hack/build-image.sh"), [], { env: { IMAGE }, timeoutMs: 900_000 });
    // The CRDs are shared with every other test (and engineer) on this cluster, so the chart
    // does not take them over here: kubectl installs them, and the chart's copies are checked
    // by a server-side dry run below.
    await installCrds();
    system = await createNamespace("aml-system");
    ns = await createNamespace("e2e-helm");
  }, 1_200_000);

  afterAll(async () => {
    // Runs first, while the installed operator still drops their finalizers (bounded).
    if (installed && ns) await kubectl(["-n", ns, "delete", "trainingruns", "--all", "--wait=true", "--timeout=60s"], { allowFail: true });
    // (also runs when the install failed, so the image never lingers in the cluster)
    if (installed) await sh(helm, helmArgs("uninstall", release, "-n", system, "--wait", "--timeout", "2m"));
    if (ns) await deleteNamespace(ns);
    if (system) await deleteNamespace(system);
    await removeImageFromCluster();
  });

  it("the chart's CRD templates are accepted by the API server (server-side dry run)", async () => {
    const crds = await must(helm, ["template", release, CHART, "-n", system, "--show-only", "templates/crds/trainingruns.yaml",
      "--show-only", "templates/crds/computetargets.yaml", "--show-only", "templates/crds/runconfigurations.yaml"]);
    const r = await kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=helm-e2e-dry-run", "--dry-run=server", "-f", "-"], { input: crds });
    expect(r.stdout).toMatch(/trainingruns\.amlcompute\.dev serverside-applied \(server dry run\)/);
  });

  it("installs, becomes ready with leader election, and its operator completes an example run", async () => {
    const [health, metrics] = [await freePort(), await freePort()];
    // The run data plane's store: the Azurite that cluster-up embeds, its connection string in a
    // Secret of the release namespace, as the chart's store values expect.
    const store = clusterServicesEnv();
    await kubectl(["-n", system, "create", "secret", "generic", "aml-store", `--from-literal=connectionString=${store.AML_STORE_CONNECTION_STRING ?? ""}`]);
    const out = await must(helm, helmArgs(
      "install", release, CHART, "-n", system, "--wait", "--timeout", "3m",
      "--set", `image.repository=${IMAGE.split(":")[0]}`, "--set", `image.tag=${IMAGE.split(":")[1]}`, "--set", "image.pullPolicy=Never",
      "--set", "crds.install=false", "--set", "logLevel=debug",
      // Scoped to the test namespace: other tests and engineers share this cluster.
      "--set", `watchNamespace=${ns}`,
      // No kube-proxy or pod network here: host network, and the API server's real address.
      "--set", "hostNetwork=true", "--set", "kubernetesApi.host=127.0.0.1", "--set-string", "kubernetesApi.port=6443",
      "--set", `store.url=${store.AML_STORE_URL ?? ""}`, "--set", `store.targetUrl=${store.AML_STORE_TARGET_URL ?? ""}`,
      "--set", "store.connectionStringSecret=aml-store",
      "--set", `ports.health=${health}`, "--set", `ports.metrics=${metrics}`, "--set", `metrics.service.port=${metrics}`,
    ), { timeoutMs: 240_000 });
    installed = true;
    expect(out).toContain("STATUS: deployed");

    const pods = await kubectlJson<{ items: { metadata: { name: string }; spec: { containers: { image: string }[]; securityContext: { runAsUser: number } } }[] }>(
      ["-n", system, "get", "pods", "-l", `app.kubernetes.io/instance=${release}`]);
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0]!;
    expect(pod.spec.containers[0]!.image).toBe(IMAGE);
    expect(pod.spec.securityContext.runAsUser).toBe(65532);
    // It is the leader: the Lease in its own namespace names the pod.
    const lease = await waitFor("operator Lease", 60_000, async () => {
      const r = await kubectl(["-n", system, "get", "lease", "aml-compute-operator", "-o", "json"], { allowFail: true });
      return r.code === 0 ? JSON.parse(r.stdout) as { spec: { holderIdentity?: string } } : undefined;
    });
    expect(lease.spec.holderIdentity).toBe(pod.metadata.name);

    // Its permissions there come from the chart's namespaced Role (watchNamespace).
    const role = await kubectlJson<{ rules: { resources: string[] }[] }>(["-n", ns, "get", "role", `${release}-aml-compute-operator`]);
    expect(role.rules.flatMap((r) => r.resources)).toContain("trainingruns/status");

    await apply(localTarget(ns), runConfiguration(ns, "python"),
      scriptRun(ns, "hello", { "main.py": "from lib.greet import greet\nprint(greet('helm'))\n", "lib/__init__.py": "", "lib/greet.py": "def greet(who):\n    return f'hello from {who}'\n" }));
    const run = await waitForPhase(ns, "hello", ["Completed", "Failed"], 180_000);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.outputTail).toContain("hello from helm");

    // A Bayesian sweep: the image's own Optuna (the chart sets no SUGGESTION_PYTHON) suggests the points.
    await apply({
      apiVersion: "amlcompute.dev/v1alpha1", kind: "Sweep", metadata: { name: "bayes", namespace: ns },
      spec: {
        trialTemplate: {
          runConfigurationRef: { name: "python" }, script: "main.py",
          source: { inline: { files: [{ path: "main.py", content: "import json, sys\nx = float(sys.argv[2])\nprint('AML_METRIC', json.dumps({'name': 'loss', 'value': (x - 0.3) ** 2}))\n" }] } },
        },
        parameters: [{ name: "x", type: "uniform", min: 0, max: 1 }], samplingAlgorithm: "Bayesian",
        primaryMetric: { name: "loss", goal: "Minimize" }, maxTrials: 2, maxConcurrentTrials: 2,
      },
    });
    const sweep = await waitFor("Bayesian sweep ended", 240_000, async () => {
      const s = await kubectlJson<{ status?: { phase?: string; trialCounts?: { completed: number }; conditions?: { type: string; reason: string }[] } }>(["-n", ns, "get", "sweep", "bayes"]);
      return ["Completed", "Failed"].includes(s.status?.phase ?? "") ? s : undefined;
    });
    expect(sweep.status?.phase, JSON.stringify(sweep.status?.conditions)).toBe("Completed");
    expect(sweep.status?.trialCounts?.completed).toBe(2);

    // The chart's pod did the work (another operator may share this cluster): its log has this run.
    const logs = (await kubectl(["-n", system, "logs", pod.metadata.name])).stdout;
    expect(logs.includes(`"namespace":"${ns}","name":"hello"`), "operator pod log mentions the run").toBe(true);
    // Least-privilege RBAC was enough: no request was refused for lack of a permission.
    const rbacDenials = logs.split("\n").filter((l) => /forbidden: User \\?"system:serviceaccount:/.test(l));
    expect(rbacDenials.slice(0, 3)).toEqual([]);
  });
});
