// The real kubectl plugin as a separate process, with the local cluster's store settings: what a
// user runs after `set -a; . .cluster/services.env`.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { clusterKubeconfig, repoRoot } from "../../cluster/kubectl.js";
import { clusterServicesEnv } from "./services.js";

export interface Cli { code: number | null; stdout: string; stderr: string }

export function plugin(args: string[]): Promise<Cli> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src/cli/kubectl-aml.ts"), ...args], {
      cwd: repoRoot, env: { ...process.env, ...clusterServicesEnv(), KUBECONFIG: clusterKubeconfig }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The run `kubectl aml submit` created, from its "trainingrun.amlcompute.dev/<name> created" line. */
export const createdName = (out: string): string => /trainingrun\.amlcompute\.dev\/(\S+) created/.exec(out)?.[1] ?? "";
