// Builders and waits for the three custom resources, used by the e2e tests.
import { apply, kubectl, kubectlJson, waitFor } from "../../cluster/kubectl.js";
import type { ComputeTarget, RunConfiguration, TrainingRun } from "../../../src/api/v1alpha1/index.js";

export const API_VERSION = "amlcompute.dev/v1alpha1";

/** A node directory startOperator allows: targets of runs with system-managed environments use it. */
export const DEV_CACHE = { environmentCache: { hostPath: "/var/lib/amlcompute/cache" } };

export function localTarget(ns: string, name = "local", local: Record<string, unknown> = {}): object {
  return { apiVersion: API_VERSION, kind: "ComputeTarget", metadata: { name, namespace: ns }, spec: { type: "Local", local } };
}

export function runConfiguration(ns: string, name: string, spec: Record<string, unknown> = {}): object {
  return { apiVersion: API_VERSION, kind: "RunConfiguration", metadata: { name, namespace: ns }, spec: { computeTargetRef: { name: "local" }, ...spec } };
}

export function scriptRun(ns: string, name: string, files: Record<string, string>, spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: API_VERSION, kind: "TrainingRun", metadata: { name, namespace: ns },
    spec: {
      runConfigurationRef: { name: "python" },
      script: "main.py",
      source: { inline: { files: Object.entries(files).map(([path, content]) => ({ path, content })) } },
      ...spec,
    },
  };
}

export const getRun = (ns: string, name: string): Promise<TrainingRun> => kubectlJson<TrainingRun>(["-n", ns, "get", "trainingrun", name, "-o", "json"]);
export const getTarget = (ns: string, name: string): Promise<ComputeTarget> => kubectlJson<ComputeTarget>(["-n", ns, "get", "computetarget", name, "-o", "json"]);
export const getRunConfiguration = (ns: string, name: string): Promise<RunConfiguration> =>
  kubectlJson<RunConfiguration>(["-n", ns, "get", "runconfiguration", name, "-o", "json"]);

export const condition = (obj: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }, type: string) =>
  obj.status?.conditions?.find((c) => c.type === type);

/** Waits until the run's phase is one of `phases` and returns it. */
export async function waitForPhase(ns: string, name: string, phases: string[], timeoutMs = 120_000): Promise<TrainingRun> {
  return waitFor(`TrainingRun ${ns}/${name} phase in ${phases.join("|")}`, timeoutMs, async () => {
    const run = await getRun(ns, name);
    return run.status?.phase && phases.includes(run.status.phase) ? run : undefined;
  });
}

export async function jobsOfRun(ns: string, runUid: string): Promise<{ metadata: { name: string; labels?: Record<string, string> } }[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string; labels?: Record<string, string> } }[] }>(
    ["-n", ns, "get", "jobs", "-l", `amlcompute.dev/run-uid=${runUid}`, "-o", "json"]);
  return list.items;
}

export async function podsOfRun(ns: string, runUid: string): Promise<unknown[]> {
  const list = await kubectlJson<{ items: unknown[] }>(["-n", ns, "get", "pods", "-l", `amlcompute.dev/run-uid=${runUid}`, "-o", "json"]);
  return list.items;
}

export async function patchRun(ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await kubectl(["-n", ns, "patch", "trainingrun", name, "--type=merge", "-p", JSON.stringify({ spec })]);
}

export { apply };
