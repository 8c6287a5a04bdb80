// The real kubectl plugin as a separate process, with the local cluster's store settings: what a
// user runs after `set -a; . .cluster/services.env`.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { clusterKubeconfig, repoRoot, waitFor } from "../../cluster/kubectl.js";
import { sourceTree, WEIGHTS } from "../../support/source-tree.js";
import { getRun, waitForPhase } from "./aml.js";
import { clusterServicesEnv } from "./services.js";

export interface Cli { code: number | null; stdout: string; stderr: string }

export interface PluginOptions {
  /** Killed (SIGKILL) after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Called with everything printed so far, each time more arrives; `signal` sends the plugin one (Ctrl-C is SIGINT). */
  onStdout?: (stdout: string, signal: (s: NodeJS.Signals) => void) => void;
}

export function plugin(args: string[], opts: PluginOptions = {}): Promise<Cli> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/kubectl-aml.ts"), ...args], {
      cwd: repoRoot, env: { ...process.env, ...clusterServicesEnv(), KUBECONFIG: clusterKubeconfig }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      opts.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The run `kubectl aml submit` created, from its "trainingrun.amlcompute.dev/<name> created" line. */
export const createdName = (out: string): string => /trainingrun\.amlcompute\.dev\/(\S+) created/.exec(out)?.[1] ?? "";

/**
 * The data plane's promise on one target, through the operator: the nested tree submitted with
 * `kubectl aml submit` runs exactly as written (its train.py hashes its working directory against
 * the submitted digest), its outputs reach status.outputs, and `kubectl aml download` returns
 * outputs/model.bin byte-exact.
 */
export async function submitTreeAndDownload(ns: string, config: string): Promise<void> {
  const sub = await plugin(["submit", sourceTree(), "--script", "train.py", "--config", config, "-n", ns]);
  expect(sub.code, sub.stderr).toBe(0);
  const name = createdName(sub.stdout);
  const done = await waitForPhase(ns, name, ["Completed", "Failed"], 180_000);
  expect(done.status?.outputTail).toContain("digest ok");
  expect(done.status?.outputTail).toContain("files 8");
  expect(done.status?.phase).toBe("Completed");
  // Some targets' outputs reach the store after the end (AmlCompute: copied in release).
  const run = await waitFor("outputs in status", 60_000, async () => {
    const r = await getRun(ns, name);
    return r.status?.outputs ? r : undefined;
  });
  expect(run.status?.outputs).toMatchObject({ attempt: 1, files: 2, bytes: WEIGHTS.length + Buffer.byteLength("naïve ✓"), location: `aml-runs/${ns}/${name}-${run.metadata.uid}/attempt-1/outputs/` });
  expect(JSON.stringify(run.status)).not.toMatch(/sig=|AccountKey/);
  const out = mkdtempSync(join(tmpdir(), "e2e-download-"));
  const dl = await plugin(["download", name, out, "-n", ns]);
  expect(dl.code, dl.stderr).toBe(0);
  expect(readFileSync(join(out, "outputs/model.bin"))).toEqual(Buffer.from(WEIGHTS).reverse());
  expect(readFileSync(join(out, "outputs/ü/résumé.txt"), "utf8")).toBe("naïve ✓");
  expect(readFileSync(join(out, "logs/output.log"), "utf8")).toContain("wrote outputs");
}
