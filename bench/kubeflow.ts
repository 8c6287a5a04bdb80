// Kubeflow training-operator (v1), the peer the side-by-side bench measures against: built once
// from the Go module proxy (the machine's Go settings) into the cache folder the Kubernetes binaries
// use, run as a local process scoped to one namespace, like our own operator.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { apply, clusterKubeconfig, kubectl, repoRoot, waitFor } from "../test/cluster/kubectl.js";
import { freePort, type RunningOperator } from "../test/e2e/support/operator.js";

export const KUBEFLOW_MODULE = "github.com/kubeflow/training-operator";
export const KUBEFLOW_VERSION = "v1.8.1";
const COMMAND = "cmd/training-operator.v1";
/** The cert rotator's fixed names (cmd/training-operator.v1 flags and pkg/cert). */
const WEBHOOK_SECRET = "training-operator-webhook-cert";
const WEBHOOK_CONFIG = "validator.training-operator.kubeflow.org";
/** Where the webhook server reads its serving certificate (pkg/cert certDir); in a pod, the Secret is mounted there. */
const CERT_DIR = "/tmp/k8s-webhook-server/serving-certs";

const cacheDir = (): string =>
  join(process.env.AML_CACHE_DIR ?? join(homedir(), ".cache", "aml-compute-operator"), `kubeflow-training-operator-${KUBEFLOW_VERSION}`);

export interface KubeflowBuild {
  binary: string;
  /** The PyTorchJob CRD of the same module version (manifests/base/crds). */
  crd: string;
  goVersion: string;
}

/**
 * The cached binary and CRD, built on first use: `go install <module>/cmd/training-operator.v1@<version>`
 * (its go.mod has no local replace directives, so it installs directly) and the CRD copied from the
 * downloaded module. Uses the machine's GOPROXY / GOFLAGS; a cold build takes a few minutes.
 */
export function ensureKubeflow(log: (msg: string) => void): KubeflowBuild {
  const dir = cacheDir();
  const binary = join(dir, "bin", "training-operator");
  const crd = join(dir, "crds", "kubeflow.org_pytorchjobs.yaml");
  const goVersion = execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim();
  if (existsSync(binary) && existsSync(crd)) return { binary, crd, goVersion };
  log(`building Kubeflow training-operator ${KUBEFLOW_VERSION} with ${goVersion} into ${dir} (cold: minutes)`);
  const tmp = join(dir, `tmp-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  execFileSync("go", ["install", `${KUBEFLOW_MODULE}/${COMMAND}@${KUBEFLOW_VERSION}`], {
    cwd: tmp, env: { ...process.env, GOBIN: tmp }, stdio: ["ignore", "inherit", "inherit"],
  });
  const info = JSON.parse(execFileSync("go", ["mod", "download", "-json", `${KUBEFLOW_MODULE}@${KUBEFLOW_VERSION}`], { cwd: tmp, encoding: "utf8" })) as { Dir: string };
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "crds"), { recursive: true });
  copyFileSync(join(info.Dir, "manifests", "base", "crds", "kubeflow.org_pytorchjobs.yaml"), crd);
  renameSync(join(tmp, "training-operator.v1"), binary);
  rmSync(tmp, { recursive: true, force: true });
  return { binary, crd, goVersion };
}

export async function installPyTorchJobCrd(build: KubeflowBuild): Promise<void> {
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", build.crd]);
  // Right after the apply the CRD has no conditions yet, and `kubectl wait` fails instead of waiting.
  await waitFor("PyTorchJob CRD Established", 60_000, async () =>
    (await kubectl(["wait", "--for=condition=Established", "--timeout=10s", "crd/pytorchjobs.kubeflow.org"], { allowFail: true })).code === 0);
}

/**
 * Starts the training-operator scoped to `namespace` with only the PyTorchJob controller. Its cert
 * rotator needs the (empty) webhook Secret in its namespace and a ValidatingWebhookConfiguration to
 * inject the CA into before it starts controllers; the configuration here has no webhooks, so the
 * API server never calls one (nothing outside this machine's loopback could reach it anyway).
 */
export async function launchKubeflow(build: KubeflowBuild, namespace: string): Promise<RunningOperator> {
  await apply(
    { apiVersion: "v1", kind: "Secret", metadata: { name: WEBHOOK_SECRET, namespace } },
    { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: WEBHOOK_CONFIG }, webhooks: [] },
  );
  // The previous scenario's certificate must not be read as this one's.
  rmSync(CERT_DIR, { recursive: true, force: true });
  const [healthPort, metricsPort, webhookPort] = [await freePort(), await freePort(), await freePort()];
  const logDir = join(repoRoot, ".cluster", "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `kubeflow-bench-${process.pid}-${namespace}.log`);
  const child = spawn(build.binary, [
    `--namespace=${namespace}`, "--enable-scheme=pytorchjob",
    `--metrics-bind-address=127.0.0.1:${metricsPort}`, `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    `--webhook-server-port=${webhookPort}`,
  ], { env: { ...process.env, KUBECONFIG: clusterKubeconfig, MY_POD_NAMESPACE: namespace }, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  await mountWebhookCerts(namespace);
  return { process: child, healthPort, metricsPort, logFile };
}

/**
 * Plays the kubelet's part: the rotator writes the serving certificate into the Secret and then
 * waits for it to appear as files in CERT_DIR (a Secret volume in the real Deployment).
 */
async function mountWebhookCerts(namespace: string): Promise<void> {
  const data = await waitFor("training-operator webhook certificate in its Secret", 60_000, async () => {
    const r = await kubectl(["-n", namespace, "get", "secret", WEBHOOK_SECRET, "-o", "json"], { allowFail: true });
    const secret = r.code === 0 ? (JSON.parse(r.stdout) as { data?: Record<string, string> }) : undefined;
    return secret?.data?.["tls.crt"] && secret.data["tls.key"] ? secret.data : undefined;
  });
  mkdirSync(CERT_DIR, { recursive: true });
  for (const name of ["tls.crt", "tls.key", "ca.crt"]) {
    // Whole files only, as a Secret volume swaps them: the operator reads them while they appear.
    if (data[name]) {
      writeFileSync(join(CERT_DIR, `.${name}.tmp`), Buffer.from(data[name], "base64"), { mode: 0o600 });
      renameSync(join(CERT_DIR, `.${name}.tmp`), join(CERT_DIR, name));
    }
  }
}

/** Removes the cluster-scoped webhook configuration launchKubeflow created. */
export async function cleanupKubeflow(): Promise<void> {
  await kubectl(["delete", "validatingwebhookconfiguration", WEBHOOK_CONFIG, "--ignore-not-found"], { allowFail: true });
}

/** A PyTorchJob with one Master replica running `script` with python3 in the training image. */
export function pytorchJob(namespace: string, name: string, script: string, image: string): object {
  return {
    apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", metadata: { name, namespace },
    spec: {
      pytorchReplicaSpecs: {
        Master: {
          replicas: 1, restartPolicy: "Never",
          template: {
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [{ name: "pytorch", image, imagePullPolicy: "IfNotPresent", command: ["python3", "-c", script] }],
            },
          },
        },
      },
    },
  };
}
