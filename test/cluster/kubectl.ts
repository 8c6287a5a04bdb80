// Helpers for the tests that prove the local cluster (hack/cluster/cluster.sh) is real.
// They shell out to the kubectl that `make cluster-up` builds, against .cluster/kubeconfig only
// (never whatever KUBECONFIG points at), so a developer's own cluster is never touched.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const clusterKubeconfig = join(repoRoot, ".cluster", "kubeconfig");
/** Image names fixed by hack/cluster/versions.env. */
export const TRAINING_IMAGE = "localhost/aml-training:py3";
export const POD_SUBNET_PREFIX = "10.244.0.";

function pinnedK8sVersion(): string {
  const env = readFileSync(join(repoRoot, "hack/cluster/versions.env"), "utf8");
  const m = /^K8S_VERSION=(\S+)/m.exec(env);
  if (!m?.[1]) throw new Error("K8S_VERSION missing from hack/cluster/versions.env");
  return m[1];
}

/** The cached kubectl ($AML_CACHE_DIR or ~/.cache/aml-compute-operator), else `kubectl` on PATH. */
export function findKubectl(): string {
  const cache = process.env.AML_CACHE_DIR ?? join(homedir(), ".cache", "aml-compute-operator");
  const cached = join(cache, `k8s-${pinnedK8sVersion()}`, "bin", "kubectl");
  return existsSync(cached) ? cached : "kubectl";
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against the local cluster. Rejects on a non-zero exit unless `allowFail`. */
export function kubectl(args: string[], opts: { input?: string; allowFail?: boolean } = {}): Promise<KubectlResult> {
  const bin = findKubectl();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, ["--kubeconfig", clusterKubeconfig, "--request-timeout=30s", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const r = { code: code ?? -1, stdout, stderr };
      if (r.code !== 0 && !opts.allowFail) {
        reject(new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${stderr.trim()}`));
      } else resolvePromise(r);
    });
    child.stdin.end(opts.input ?? "");
  });
}

export async function kubectlJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const r = await kubectl([...args, "-o", "json"]);
  return JSON.parse(r.stdout) as T;
}

/** Applies manifests (objects are serialized as JSON, which kubectl accepts). */
export async function apply(...objects: object[]): Promise<KubectlResult> {
  return kubectl(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
}

/** Fails fast, with the fix in the message, when `make cluster-up` has not run. */
export async function requireCluster(): Promise<void> {
  if (!existsSync(clusterKubeconfig)) {
    throw new Error(`no local cluster: ${clusterKubeconfig} is missing (run \`make cluster-up\`)`);
  }
  const r = await kubectl(["get", "--raw", "/readyz"], { allowFail: true });
  if (r.code !== 0) throw new Error(`local cluster not ready (run \`make cluster-up\`): ${r.stderr.trim()}`);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export async function createNamespace(prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await kubectl(["create", "namespace", ns]);
  // The namespace's ServiceAccount is created asynchronously; pods are rejected until it exists.
  await waitFor(`ServiceAccount ${ns}/default`, 60_000, async () =>
    (await kubectl(["-n", ns, "get", "serviceaccount", "default"], { allowFail: true })).code === 0);
  return ns;
}

export async function deleteNamespace(ns: string): Promise<void> {
  await kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"], { allowFail: true });
}

/** Polls `check` every 500 ms until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface PodStatus {
  phase?: string;
  podIP?: string;
  hostIP?: string;
  containerStatuses?: Array<{
    name: string;
    state?: { terminated?: { exitCode: number; reason?: string } };
  }>;
}

/** Waits until the pod is Succeeded or Failed and returns its status. */
export async function waitForPodDone(ns: string, name: string, timeoutMs = 90_000): Promise<PodStatus> {
  return waitFor(`pod ${ns}/${name} to finish`, timeoutMs, async () => {
    const pod = await kubectlJson<{ status?: PodStatus }>(["-n", ns, "get", "pod", name]);
    const phase = pod.status?.phase;
    return phase === "Succeeded" || phase === "Failed" ? (pod.status as PodStatus) : undefined;
  });
}

/** A bare Pod running `command` in the training image (never pulled: IfNotPresent). */
export function trainingPod(ns: string, name: string, command: string[], spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "main", image: TRAINING_IMAGE, imagePullPolicy: "IfNotPresent", command }],
      ...spec,
    },
  };
}
