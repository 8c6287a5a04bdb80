// kubectl-aml against the local cluster and the real operator: the plugin runs as users run it
// (bin/kubectl-aml, a separate process), so exit codes and streamed output are the real ones.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterKubeconfig, createNamespace, repoRoot, requireCluster, waitFor } from "../../cluster/kubectl.js";
import { apply, condition, getRun, getTarget, localTarget, runConfiguration, waitForPhase } from "../support/aml.js";
import { endTest, installCrds, startOperator, type RunningOperator } from "../support/operator.js";
import { clusterServicesEnv } from "../support/services.js";

interface Result { code: number; stdout: string; stderr: string }

function plugin(args: string[], timeoutMs = 180_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, "bin/kubectl-aml"), args, {
      // The store the plugin uploads snapshots to: the local cluster's Azurite.
      env: { ...process.env, ...clusterServicesEnv(), KUBECONFIG: clusterKubeconfig, KUBECTL_AML_NODE: process.execPath, KUBECTL_AML_FROM_SOURCE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

function sourceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "kubectl-aml-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const createdName = (r: Result): string => /trainingrun\.amlcompute\.dev\/(\S+) created/.exec(r.stdout)?.[1] ?? "";

describe("kubectl aml", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  const dirs: string[] = [];
  const dir = (files: Record<string, string>): string => {
    const d = sourceDir(files);
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("e2e-plugin");
    op = await startOperator({ WATCH_NAMESPACE: ns });
    await apply(localTarget(ns), runConfiguration(ns, "python"));
    await waitFor("target Ready", 60_000, async () => condition(await getTarget(ns, "local"), "Ready")?.status === "True");
  });

  afterAll(async () => {
    await endTest(op, ns);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("submit --wait snapshots a nested directory without ignored files, streams the output and exits 0", async () => {
    const src = dir({
      "train.py": "import os, sys\nfrom pkg.util import answer\nprint('answer', answer())\nprint('args', sys.argv[1:])\n" +
        "print('ignored present' if os.path.exists('secrets.txt') or os.path.exists('data') else 'ignored absent')\n",
      "pkg/__init__.py": "",
      "pkg/util.py": "def answer():\n    return 6 * 7\n",
      "data/big.csv": "x\n1\n",
      "secrets.txt": "do not upload\n",
      ".amlignore": "secrets.txt\ndata/\n",
      ".gitignore": "pkg/\n",
    });
    const r = await plugin(["submit", src, "--script", "train.py", "--config", "python", "--arg=--epochs", "--arg", "3", "-n", ns, "--wait", "--", "--lr", "0.1"]);
    expect(r.stderr).toContain("ignored by .amlignore");
    expect(r.stdout).toContain("answer 42");
    expect(r.stdout).toContain("args ['--epochs', '3', '--lr', '0.1']");
    expect(r.stdout).toContain("ignored absent");
    expect(r.stderr).not.toContain("outputTail");
    expect(r.code, r.stderr).toBe(0);
    const run = await getRun(ns, createdName(r));
    expect(run.status?.phase).toBe("Completed");
    expect(r.stderr).toMatch(/: 5 files,/); // .amlignore, .gitignore, pkg/__init__.py, pkg/util.py, train.py
    expect(run.spec.source.snapshot?.digest).toBe(run.status?.snapshotDigest);
    expect(r.stderr).toContain(run.status?.snapshotDigest ?? "no digest in status");
  });

  it("submit --wait exits with the script's exit code when it fails, after its output", async () => {
    const src = dir({ "fail.py": "import sys\nprint('about to fail', flush=True)\nsys.exit(3)\n" });
    const r = await plugin(["submit", src, "--script", "fail.py", "--target", "local", "--name", "fails", "-n", ns, "--wait"]);
    expect(r.stdout).toContain("about to fail");
    expect(r.stderr).toContain("Failed");
    expect(r.code).toBe(3);
    expect((await getRun(ns, "fails")).status?.exitCode).toBe(3);
  });

  it("logs prints a finished run's output; logs -f follows a running one to its end", async () => {
    const src = dir({ "slow.py": "import time\nfor i in range(4):\n    print('tick', i, flush=True)\n    time.sleep(1)\n" });
    const submitted = await plugin(["submit", src, "--script", "slow.py", "--config", "python", "--name", "slow", "-n", ns]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const followed = await plugin(["logs", "-f", "slow", "-n", ns]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(/tick 0\n[\s\S]*tick 3\n/);
    expect(followed.stderr).not.toContain("outputTail"); // streamed from the pod, not the status fallback
    expect((await getRun(ns, "slow")).status?.phase).toBe("Completed");
    const again = await plugin(["logs", "slow", "-n", ns]);
    expect(again.stdout).toContain("tick 3");
  });

  it("cancel sets spec.cancel and the run ends Canceled", async () => {
    const src = dir({ "sleep.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(600)\n" });
    const submitted = await plugin(["submit", src, "--script", "sleep.py", "--config", "python", "--name", "sleeper", "-n", ns]);
    expect(submitted.code, submitted.stderr).toBe(0);
    await waitForPhase(ns, "sleeper", ["Running"]);
    const r = await plugin(["cancel", "sleeper", "-n", ns]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("cancel requested");
    const run = await waitForPhase(ns, "sleeper", ["Canceled", "Failed", "Completed"]);
    expect(run.spec.cancel).toBe(true);
    expect(run.status?.phase).toBe("Canceled");
  });

  it("targets prints a table of ComputeTargets", async () => {
    await apply({ apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name: "old-adla", namespace: ns },
      spec: { type: "DataLakeAnalytics", dataLakeAnalytics: { accountName: "adla1", resourceGroup: "rg" } } });
    const lines = await waitFor("targets table with both rows", 60_000, async () => {
      const r = await plugin(["targets", "-n", ns]);
      const rows = r.stdout.trim().split("\n").map((l) => l.split(/\s{2,}/));
      return rows.length === 3 && rows[1]?.[2] !== "Unknown" ? rows : undefined;
    });
    expect(lines[0]).toEqual(["NAME", "TYPE", "READY", "REASON", "AGE"]);
    expect(lines[1]?.slice(0, 4)).toEqual(["local", "Local", "True", "Ready"]);
    expect(lines[2]?.slice(0, 4)).toEqual(["old-adla", "DataLakeAnalytics", "False", "TargetRetired"]);
  });

  it("refuses a source over 300 MiB before uploading, naming its largest files, and creates nothing", async () => {
    const src = dir({ "train.py": "print(1)\n", "ckpt/weights.pt": "" });
    truncateSync(join(src, "ckpt/weights.pt"), 301 * 1024 * 1024); // sparse: nothing is written
    const r = await plugin(["submit", src, "--script", "train.py", "--config", "python", "--name", "too-big", "-n", ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("over the limit of 300.0 MiB");
    expect(r.stderr).toContain("ckpt/weights.pt (301.0 MiB)");
    await expect(getRun(ns, "too-big")).rejects.toThrow(/NotFound|not found/);
  });
});
