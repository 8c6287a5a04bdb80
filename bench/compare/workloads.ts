// The workloads the side-by-side bench runs: the same one-line Python script as a plain batch/v1
// Job (no operator), as a Kubeflow PyTorchJob with one Master replica, and as a TrainingRun on a
// Local target — with the operator as installed by default (no MLflow tracking, like Kubeflow's),
// and with MLflow tracking configured (every run then gets an MLflow run before its Job). Each says
// how to build an item, which item a pod belongs to, and when an item is over.
import { Kinds, Labels, type TrainingRun } from "../../src/api/v1alpha1/index.js";
import { BuiltinKinds, type KubeObject, type ResourceKind } from "../../src/kube/types.js";
import { TRAINING_IMAGE } from "../../test/cluster/kubectl.js";
import { scriptRun } from "../../test/e2e/support/aml.js";
import { pytorchJob } from "../kubeflow.js";

export type WorkloadName = "Job" | "PyTorchJob" | "TrainingRun" | "TrainingRunMlflow";

export interface Workload {
  name: WorkloadName;
  kind: ResourceKind;
  build(namespace: string, name: string): KubeObject;
  /** The item (by name) a pod was created for; undefined for pods of something else. */
  itemOfPod(pod: KubeObject): string | undefined;
  isTerminal(obj: KubeObject): boolean;
  /** Our operator's environment for this workload (on top of the cluster's services.env). */
  operatorEnv?: Record<string, string>;
}

export const SCRIPT = "print('bench: hello')";

export const PyTorchJobKind: ResourceKind = { group: "kubeflow.org", version: "v1", kind: "PyTorchJob", plural: "pytorchjobs", namespaced: true };

type WithConditions = KubeObject<unknown, { conditions?: { type: string; status: string }[] }>;
const hasCondition = (obj: KubeObject, types: string[]): boolean =>
  (obj as WithConditions).status?.conditions?.some((c) => types.includes(c.type) && c.status === "True") ?? false;

const plainJob: Workload = {
  name: "Job",
  kind: BuiltinKinds.Job,
  build: (namespace, name) => ({
    apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never", terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: TRAINING_IMAGE, imagePullPolicy: "IfNotPresent", command: ["python3", "-c", SCRIPT] }],
        },
      },
    },
  }),
  itemOfPod: (pod) => pod.metadata.labels?.["batch.kubernetes.io/job-name"],
  isTerminal: (job) => hasCondition(job, ["Complete", "Failed"]),
};

const pyTorchJob: Workload = {
  name: "PyTorchJob",
  kind: PyTorchJobKind,
  build: (namespace, name) => pytorchJob(namespace, name, SCRIPT, TRAINING_IMAGE) as KubeObject,
  itemOfPod: (pod) => pod.metadata.labels?.["training.kubeflow.org/job-name"],
  isTerminal: (job) => hasCondition(job, ["Succeeded", "Failed"]),
};

const trainingRun: Workload = {
  name: "TrainingRun",
  kind: Kinds.TrainingRun,
  build: (namespace, name) => scriptRun(namespace, name, { "main.py": `${SCRIPT}\n` }) as KubeObject,
  itemOfPod: (pod) => (pod.metadata.labels?.[Labels.role] === "run" ? pod.metadata.labels[Labels.run] : undefined),
  isTerminal: (run) => ["Completed", "Failed"].includes((run as TrainingRun).status?.phase ?? ""),
  // No tracking server configured: the Helm chart's default, and what Kubeflow's operator does.
  operatorEnv: { MLFLOW_TRACKING_URI: "" },
};

/** The cluster's MLflow (services.env) as the tracking server. */
const trainingRunMlflow: Workload = { ...trainingRun, name: "TrainingRunMlflow", operatorEnv: {} };

export const WORKLOADS: Record<WorkloadName, Workload> = { Job: plainJob, PyTorchJob: pyTorchJob, TrainingRun: trainingRun, TrainingRunMlflow: trainingRunMlflow };

export const isTrainingRun = (w: WorkloadName): boolean => w === "TrainingRun" || w === "TrainingRunMlflow";
