// deploy/k9s: the plugins run the commands k9s would run (same $VAR expansion) against the local
// cluster, and the views only name columns the CRDs really have.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { apply, clusterKubeconfig, createNamespace, deleteNamespace, findKubectl, kubectl, kubectlJson, repoRoot, requireCluster } from "../../cluster/kubectl.js";
import { installCrds } from "../../e2e/support/operator.js";

interface Plugin { shortCut: string; description: string; scopes: string[]; command: string; args: string[]; confirm?: boolean; dangerous?: boolean; background?: boolean }
interface Crd { spec: { names: { plural: string; shortNames: string[] }; versions: { additionalPrinterColumns: { name: string }[] }[] } }

const plugins = (parse(readFileSync(join(repoRoot, "deploy/k9s/plugins.yaml"), "utf8")) as { plugins: Record<string, Plugin> }).plugins;
const views = (parse(readFileSync(join(repoRoot, "deploy/k9s/views.yaml"), "utf8")) as { views: Record<string, { columns: string[] }> }).views;
const crds = ["computetargets", "runconfigurations", "trainingruns", "sweeps"].map((p) =>
  parse(readFileSync(join(repoRoot, `deploy/crds/amlcompute.dev_${p}.yaml`), "utf8").replace(/^#.*\n/, "")) as Crd);

describe("k9s plugins.yaml and views.yaml", () => {
  it("has unique shortcuts, real scopes, and confirms before anything dangerous", () => {
    const names = new Set(crds.flatMap((c) => [c.spec.names.plural, ...c.spec.names.shortNames]));
    const shortcuts = Object.values(plugins).map((p) => p.shortCut);
    expect(new Set(shortcuts).size).toBe(shortcuts.length);
    for (const p of Object.values(plugins)) {
      for (const s of p.scopes) expect(names).toContain(s);
      if (p.dangerous) expect(p.confirm).toBe(true);
    }
    expect(Object.keys(plugins).sort()).toEqual([
      "aml-events", "aml-run-cancel", "aml-run-follow", "aml-run-logs", "aml-studio", "aml-sweep-cancel", "aml-sweep-follow", "aml-sweep-trials",
    ]);
  });

  it("names only printer columns the CRDs define (or NAME:jsonpath columns)", () => {
    for (const crd of crds) {
      const view = views[`amlcompute.dev/v1alpha1/${crd.spec.names.plural}`];
      expect(view).toBeDefined();
      const printer = new Set(crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name.toUpperCase()));
      for (const col of view!.columns.filter((c) => !c.includes(":"))) {
        expect(["NAMESPACE", "NAME", ...printer], `${crd.spec.names.plural} column ${col}`).toContain(col);
      }
    }
  });
});

describe("k9s plugins against the local cluster", () => {
  let ns = "";
  let bin = "";
  let context = "";

  /** Runs a plugin the way k9s does: $VARs expanded in each argument, no shell unless the plugin asks. */
  function runPlugin(name: string, resource: string, drop: string[] = []): { code: number; out: string } {
    const p = plugins[name]!;
    const vars: Record<string, string> = { NAME: "r1", NAMESPACE: ns, CONTEXT: context, RESOURCE_NAME: resource, RESOURCE_GROUP: "amlcompute.dev", RESOURCE_VERSION: "v1alpha1" };
    const env = { ...process.env, ...vars, KUBECONFIG: clusterKubeconfig, PATH: `${bin}:${process.env.PATH}`, KUBECTL_AML_NODE: process.execPath, KUBECTL_AML_FROM_SOURCE: "1" };
    const args = p.args.filter((a) => !drop.includes(a)).map((a) => a.replace(/\$([A-Z_]+)/g, (m, v: string) => vars[v] ?? m));
    const r = spawnSync(p.command, args, { env, encoding: "utf8", timeout: 30_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  }

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("k9s");
    bin = mkdtempSync(join(tmpdir(), "k9s-bin-"));
    symlinkSync(findKubectl() === "kubectl" ? "/usr/bin/kubectl" : findKubectl(), join(bin, "kubectl"));
    // kubectl finds its plugins on PATH: `kubectl aml` is bin/kubectl-aml.
    symlinkSync(join(repoRoot, "bin/kubectl-aml"), join(bin, "kubectl-aml"));
    context = (await kubectl(["config", "current-context"])).stdout.trim();
    await apply({
      apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun", metadata: { name: "r1", namespace: ns },
      spec: { script: "main.py", source: { inline: { files: [{ path: "main.py", content: "print(1)" }] } }, runConfigurationRef: { name: "none" }, suspend: true },
    });
    await apply({
      apiVersion: "amlcompute.dev/v1alpha1", kind: "Sweep", metadata: { name: "r1", namespace: ns },
      spec: {
        trialTemplate: { script: "main.py", source: { inline: { files: [{ path: "main.py", content: "print(1)" }] } }, runConfigurationRef: { name: "none" } },
        parameters: [{ name: "lr", type: "choice", values: ["0.1"] }], samplingAlgorithm: "Grid",
        primaryMetric: { name: "loss", goal: "Minimize" }, maxTrials: 1, suspend: true,
      },
    });
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  it("cancel patches spec.cancel on the selected run", async () => {
    const r = runPlugin("aml-run-cancel", "trainingruns");
    expect(r.code, r.out).toBe(0);
    expect((await kubectlJson<{ spec: { cancel: boolean } }>(["-n", ns, "get", "trainingrun", "r1"])).spec.cancel).toBe(true);
  });

  it("sweep cancel patches spec.cancel; sweep trials lists the sweep's TrainingRuns", async () => {
    const r = runPlugin("aml-sweep-cancel", "sweeps");
    expect(r.code, r.out).toBe(0);
    expect((await kubectlJson<{ spec: { cancel: boolean } }>(["-n", ns, "get", "sweep", "r1"])).spec.cancel).toBe(true);
    const trials = runPlugin("aml-sweep-trials", "sweeps", ["--watch"]);
    expect(trials.code, trials.out).toBe(0);
    const follow = runPlugin("aml-sweep-follow", "sweeps", ["--watch"]);
    expect(follow.code, follow.out).toBe(0);
    expect(follow.out).toMatch(/^sweep\/r1: /);
  });

  it("events, logs and studio commands run (without --watch/--follow so they return)", () => {
    for (const resource of ["trainingruns", "computetargets"]) {
      const ev = runPlugin("aml-events", resource, ["--watch"]);
      expect(ev.code, ev.out).toBe(0);
    }
    const logs = runPlugin("aml-run-logs", "trainingruns", ["--follow"]);
    expect(logs.code, logs.out).toBe(0);
    const studio = runPlugin("aml-studio", "trainingruns");
    expect(studio.code, studio.out).toBe(0);
    expect(studio.out).toContain("trainingrun r1 has no studio URL");
  });
});
