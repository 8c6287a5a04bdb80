import type { Framework, RunConfigurationSpec } from "../../api/v1alpha1/index.js";

/**
 * How a Local attempt lays out its processes, and what each process is told about the others.
 * Pure: the Job builder turns this into env vars and a headless Service; nothing here talks to
 * the API server.
 *
 * One pod per node (an Indexed Job, completion index = node rank). With processCountPerNode > 1
 * a small launcher inside the pod starts one process per slot (see launcher.ts), the way Azure ML
 * launches processCountPerInstance processes: scripts call
 * `torch.distributed.init_process_group()` unchanged, no torchrun needed in the image.
 */

/** PyTorch's conventional rendezvous port (TCPStore on rank 0). */
export const MASTER_PORT = 29500;
/** First TensorFlow worker port; a pod's slots use consecutive ports from here. */
export const TF_WORKER_PORT = 2222;
/** Ranks of a multi-node attempt that are not scheduled within this bound fail the attempt. */
export const DEFAULT_SCHEDULING_TIMEOUT_SECONDS = 300;
/** Kubernetes sets this annotation (and label) on every pod of an Indexed Job. */
export const COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";

const DNS_LABEL_MAX = 63;
/** nodeCount ≤ 1000, so an index has at most 3 digits: `<job>-999` must still be a DNS label. */
const INDEX_SUFFIX_MAX = 4;
/** Longest Job name whose pods' host names `<job>-<index>` fit a DNS label. */
export const JOB_NAME_MAX = DNS_LABEL_MAX - INDEX_SUFFIX_MAX;

export interface Layout {
  readonly framework: Framework;
  readonly nodeCount: number;
  readonly processCountPerNode: number;
  /** Pods' host-name prefix (the Job name): rank n is `<jobName>-<n>.<serviceName>`. */
  readonly jobName: string;
  /** The headless Service giving pods stable names; absent for single-node attempts. */
  readonly serviceName?: string;
}

export const worldSize = (c: Pick<RunConfigurationSpec, "nodeCount" | "processCountPerNode">): number =>
  c.nodeCount * c.processCountPerNode;

/** Lower-case alphanumerics and '-', no leading/trailing '-': what survives into a DNS label. */
export const toDnsLabelChars = (s: string): string =>
  s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "");

/**
 * `base` cut so that `base + suffix` is at most `max` characters, without a trailing '-'. The
 * suffix carries a hash of what must stay unique, so cutting the readable part loses nothing.
 */
export function fitName(base: string, suffix: string, max: number): string {
  return `${toDnsLabelChars(base).slice(0, max - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/**
 * Service names are DNS-1035 labels (≤ 63, a letter first). The Job name already carries the run
 * UID hash and attempt, so the Service reuses it, with a letter in front when it starts with a digit.
 */
export function headlessServiceName(jobName: string): string {
  const label = toDnsLabelChars(jobName);
  return /^[a-z]/.test(label) ? label.slice(0, DNS_LABEL_MAX) : fitName(`r-${label}`, "", DNS_LABEL_MAX);
}

export function layoutOf(config: Pick<RunConfigurationSpec, "framework" | "nodeCount" | "processCountPerNode">, jobName: string): Layout {
  return {
    framework: config.framework, nodeCount: config.nodeCount, processCountPerNode: config.processCountPerNode, jobName,
    ...(config.nodeCount > 1 ? { serviceName: headlessServiceName(jobName) } : {}),
  };
}

/** The stable DNS name of node `n` (resolved through the pod's namespace search path). */
export const hostOf = (layout: Layout, node: number): string =>
  layout.serviceName ? `${layout.jobName}-${node}.${layout.serviceName}` : "localhost";

/** Every (node, slot) as `host:port`, node-major: task index = node × processCountPerNode + slot. */
export function tfWorkers(layout: Layout): string[] {
  const workers: string[] = [];
  for (let n = 0; n < layout.nodeCount; n++) {
    for (let slot = 0; slot < layout.processCountPerNode; slot++) workers.push(`${hostOf(layout, n)}:${TF_WORKER_PORT + slot}`);
  }
  return workers;
}

/**
 * TF_CONFIG for MultiWorkerMirroredStrategy. `taskIndex` may be a Kubernetes `$(VAR)` reference:
 * the kubelet substitutes it, so the JSON stays valid once the pod starts. With several slots per
 * pod the launcher rewrites task.index per process.
 */
export function tfConfig(layout: Layout, taskIndex: number | string): string {
  const cluster = JSON.stringify({ worker: tfWorkers(layout) });
  return `{"cluster":${cluster},"task":{"type":"worker","index":${taskIndex}}}`;
}

/** The layout needs rank variables: several processes, or a framework whose launcher reads them. */
export const isDistributed = (layout: Layout): boolean =>
  worldSize(layout) > 1 || layout.framework === "PyTorch" || layout.framework === "TensorFlow";

/** Several slots per pod: the launcher starts one process per slot and sets its rank. */
export const needsLauncher = (layout: Layout): boolean => layout.processCountPerNode > 1;

export type EnvVar = { name: string; value: string } | { name: string; valueFrom: Record<string, unknown> };

/**
 * The rank variables, in dependency order: NODE_RANK first (from the pod's completion index), so
 * later values can say `$(NODE_RANK)`. PyTorch names (MASTER_ADDR/PORT, RANK, LOCAL_RANK,
 * LOCAL_WORLD_SIZE, WORLD_SIZE) for every distributed framework; TF_CONFIG for TensorFlow.
 * LOCAL_RANK holds the pod's first slot; the launcher sets it (and RANK) per process.
 */
export function distributionEnv(layout: Layout): EnvVar[] {
  const env: EnvVar[] = layout.nodeCount > 1
    ? [{ name: "NODE_RANK", valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } }]
    : [{ name: "NODE_RANK", value: "0" }];
  env.push({ name: "NODE_COUNT", value: String(layout.nodeCount) }, { name: "WORLD_SIZE", value: String(worldSize(layout)) });
  if (!isDistributed(layout)) return env;
  const ppn = layout.processCountPerNode;
  env.push(
    { name: "MASTER_ADDR", value: hostOf(layout, 0) },
    { name: "MASTER_PORT", value: String(MASTER_PORT) },
    { name: "LOCAL_WORLD_SIZE", value: String(ppn) },
    { name: "LOCAL_RANK", value: "0" },
  );
  // With one slot per pod RANK is NODE_RANK; with more, the launcher sets it per process.
  if (ppn === 1) env.push({ name: "RANK", value: "$(NODE_RANK)" });
  if (layout.framework === "TensorFlow") env.push({ name: "TF_CONFIG", value: tfConfig(layout, ppn === 1 ? "$(NODE_RANK)" : 0) });
  return env;
}

/**
 * What Local refuses, before any run starts (the RunConfiguration reports it as UnsupportedOnTarget):
 * - MPI over several processes: mpirun needs a way into every rank (ssh or an agent in each pod)
 *   and an MPI runtime in the image; the restricted pods here have neither. AmlCompute runs MPI.
 * - TensorFlow parameter servers: Local runs MultiWorkerMirroredStrategy workers only.
 * - PySpark over several pods: Spark distributes itself (spark-submit), not through ranks.
 */
export function localDistributionProblem(config: Pick<RunConfigurationSpec, "framework" | "nodeCount" | "processCountPerNode" | "parameterServerCount">): string | undefined {
  const processes = worldSize(config);
  if (config.framework === "MPI" && processes > 1) {
    return `framework MPI with ${config.nodeCount} node(s) × ${config.processCountPerNode} process(es) is not supported on Local: mpirun needs ssh or an agent into every pod and an MPI runtime in the image. Run MPI on AmlCompute, or use PyTorch/TensorFlow (gloo, nccl) on Local`;
  }
  if (config.parameterServerCount) {
    return `parameterServerCount ${config.parameterServerCount} is not supported on Local: it runs TensorFlow MultiWorkerMirroredStrategy workers (TF_CONFIG without ps tasks). Use parameterServerCount 0, or AmlCompute`;
  }
  if (config.framework === "PySpark" && processes > 1) {
    return "framework PySpark on Local runs one spark-submit in one pod: Spark distributes the work itself, so nodeCount and processCountPerNode must be 1";
  }
  return undefined;
}
