// One side-by-side scenario: N items of one workload applied at once in a fresh namespace, with
// only that workload's operator running (scoped to the namespace). Every timestamp comes from the
// bench's own watches (performance.now() when an event arrives), never from object timestamps.
import { loadavg } from "node:os";
import pino from "pino";
import { KubeClientImpl } from "../../src/kube/client-node.js";
import { BuiltinKinds, type KubeObject } from "../../src/kube/types.js";
import { clusterKubeconfig, createNamespace, deleteNamespace, kubectl, waitFor } from "../../test/cluster/kubectl.js";
import { apply, condition, getRunConfiguration, getTarget, localTarget, runConfiguration } from "../../test/e2e/support/aml.js";
import { launchKubeflow, type KubeflowBuild } from "../kubeflow.js";
import {
  deltaOf, launchOperator, requestsByVerbAndKind, rssMiB, stopOperator, totalOf, waitIdle, type RunningOperator,
} from "../operator.js";
import { summarize, type Summary } from "../stats.js";
import { ProcessMeter } from "./process-meter.js";
import { isTrainingRun, type Workload, type WorkloadName } from "./workloads.js";

export interface ScenarioResult {
  workload: WorkloadName;
  n: number;
  repetition: number;
  /** create call returned → the bench's Pod watch first sees the item's pod. */
  applyToPodMs: Summary | null;
  /** the pod's container terminated → the item reports a terminal state (the split of the wall time). */
  podExitToTerminalMs: Summary | null;
  /** first create sent → last item terminal. */
  allTerminalWallMs: number;
  /** The machine's 1-minute load average when the items were created and when the last was terminal (others' tests share it). */
  loadAverage: { atStart: number; atEnd: number };
  operator: null | {
    /** Ours only: idle before any ComputeTarget exists (nothing loaded for a target type yet). */
    idleNoTargetRssMiB?: number;
    /** Idle with the scenario's target Ready (ours: the store's SDK loaded with the first target). */
    idleRssMiB: number;
    peakRssMiB: number;
    cpuSeconds: number;
    /** The operator's own requests (its client-side counters), per item, by HTTP method. */
    requestsPerItemByMethod: Record<string, number>;
    requestsPerItem: number;
    /** Ours only: per item by "verb kind". */
    requestsPerItemByVerbAndKind?: Record<string, number>;
  };
}

interface Times {
  created: Map<string, number>;
  podSeen: Map<string, number>;
  podExited: Map<string, number>;
  terminal: Map<string, number>;
}

type PodLike = KubeObject<unknown, { phase?: string; containerStatuses?: { state?: { terminated?: unknown } }[] }>;
const exited = (pod: PodLike): boolean =>
  pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed" || (pod.status?.containerStatuses ?? []).some((c) => c.state?.terminated);

function first(map: Map<string, number>, key: string | undefined): void {
  if (key !== undefined && !map.has(key)) map.set(key, performance.now());
}

/** Watches the namespace's pods and items and stamps the first time each milestone is seen. */
async function watchMilestones(kube: KubeClientImpl, workload: Workload): Promise<Times> {
  const t: Times = { created: new Map(), podSeen: new Map(), podExited: new Map(), terminal: new Map() };
  const pods = kube.watch<PodLike>(BuiltinKinds.Pod);
  const onPod = (pod: PodLike): void => {
    const item = workload.itemOfPod(pod);
    first(t.podSeen, item);
    if (exited(pod)) first(t.podExited, item);
  };
  pods.addHandlers({ add: onPod, update: onPod });
  const items = kube.watch(workload.kind);
  const onItem = (obj: KubeObject): void => {
    if (workload.isTerminal(obj)) first(t.terminal, obj.metadata.name);
  };
  items.addHandlers({ add: onItem, update: onItem });
  for (const i of [pods, items]) i.start();
  await Promise.all([pods, items].map((i) => i.waitForSync()));
  return t;
}

async function createAll(kube: KubeClientImpl, workload: Workload, objects: KubeObject[], t: Times): Promise<void> {
  const inFlight = 50;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const obj = objects[next++] as KubeObject;
      await kube.create(workload.kind, obj);
      t.created.set(obj.metadata.name ?? "", performance.now());
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, objects.length) }, worker));
}

export interface ScenarioContext {
  kubeflow?: KubeflowBuild;
  log: (msg: string) => void;
}

/** Starts the workload's operator scoped to `ns` and prepares what its items need. */
async function startOperatorFor(workload: Workload, ns: string, ctx: ScenarioContext): Promise<{ op?: RunningOperator; idleNoTargetRssMiB?: number }> {
  if (workload.name === "Job") return {};
  if (workload.name === "PyTorchJob") {
    if (!ctx.kubeflow) throw new Error("PyTorchJob scenario without a Kubeflow build");
    const op = await launchKubeflow(ctx.kubeflow, ns);
    await waitFor(`Kubeflow training-operator /readyz (log ${op.logFile})`, 120_000, async () => {
      if (op.process.exitCode !== null) throw new Error(`training-operator exited ${op.process.exitCode}; see ${op.logFile}`);
      return (await fetch(`http://127.0.0.1:${op.healthPort}/readyz`).catch(() => undefined))?.ok ?? false;
    });
    return { op };
  }
  const { op } = await launchOperator({ WATCH_NAMESPACE: ns, ...workload.operatorEnv });
  await waitIdle(op);
  const idleNoTargetRssMiB = rssMiB(op);
  await apply(localTarget(ns, "local"), runConfiguration(ns, "python"));
  await waitFor(`${ns}: target Ready`, 60_000, async () => condition(await getTarget(ns, "local"), "Ready")?.status === "True");
  await waitFor(`${ns}: RunConfiguration Ready`, 60_000, async () => condition(await getRunConfiguration(ns, "python"), "Ready")?.status === "True");
  return { op, idleNoTargetRssMiB };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

const perItem = (delta: Record<string, number>, n: number): Record<string, number> =>
  Object.fromEntries(Object.entries(delta).filter(([, v]) => v > 0).map(([k, v]) => [k, Math.round((v / n) * 100) / 100]));

/** Runs one scenario and removes everything it created (bounded waits). */
export async function runScenario(workload: Workload, n: number, repetition: number, ctx: ScenarioContext): Promise<ScenarioResult> {
  const ns = await createNamespace(`bench-${workload.name.toLowerCase()}-${n}`);
  const kube = KubeClientImpl.fromFile(clusterKubeconfig, {
    logger: pino({ level: "warn" }), identity: "aml-bench", watchNamespace: ns, rateLimit: { qps: 0, burst: 0 },
  });
  let op: RunningOperator | undefined;
  try {
    const launched = await startOperatorFor(workload, ns, ctx);
    op = launched.op;
    const t = await watchMilestones(kube, workload);
    const before = op ? { methods: await waitIdle(op), kinds: isTrainingRun(workload.name) ? await requestsByVerbAndKind(op) : {} } : undefined;
    const idleRss = op?.process.pid ? rssMiB(op) : 0;
    const meter = op?.process.pid ? new ProcessMeter(op.process.pid) : undefined;
    const objects = Array.from({ length: n }, (_, i) => workload.build(ns, `item-${i}`));
    const started = performance.now();
    const loadAtStart = loadavg()[0] ?? 0;
    await createAll(kube, workload, objects, t);
    await waitFor(`${n} ${workload.name}s terminal`, 120_000 + n * 2_000, async () => t.terminal.size >= n);
    const allTerminalWallMs = Math.round(Math.max(...t.terminal.values()) - started);
    const loadAverage = { atStart: round1(loadAtStart), atEnd: round1(loadavg()[0] ?? 0) };
    const names = [...t.created.keys()];
    const applyToPodMs = summarize(names.filter((k) => t.podSeen.has(k)).map((k) => (t.podSeen.get(k) as number) - (t.created.get(k) as number)));
    const podExitToTerminalMs = summarize(names.filter((k) => t.podExited.has(k)).map((k) => (t.terminal.get(k) as number) - (t.podExited.get(k) as number)));
    let operator: ScenarioResult["operator"] = null;
    if (op && before && meter) {
      const after = await waitIdle(op, 3_000, 300_000);
      const cost = meter.stop();
      const methods = deltaOf(after, before.methods);
      operator = {
        ...(launched.idleNoTargetRssMiB !== undefined ? { idleNoTargetRssMiB: launched.idleNoTargetRssMiB } : {}),
        idleRssMiB: idleRss, ...cost, requestsPerItemByMethod: perItem(methods, n), requestsPerItem: Math.round((totalOf(methods) / n) * 100) / 100,
        ...(isTrainingRun(workload.name) ? { requestsPerItemByVerbAndKind: perItem(deltaOf(await requestsByVerbAndKind(op), before.kinds), n) } : {}),
      };
    }
    return { workload: workload.name, n, repetition, applyToPodMs, podExitToTerminalMs, allTerminalWallMs, loadAverage, operator };
  } finally {
    await cleanup(workload, ns, op, ctx);
    await kube.close();
  }
}

/** Items first (our runs need the operator to drop their finalizers), then the operator, then the namespace. */
async function cleanup(workload: Workload, ns: string, op: RunningOperator | undefined, ctx: ScenarioContext): Promise<void> {
  const k = workload.kind;
  const path = `/apis/${k.group}/${k.version}/namespaces/${ns}/${k.plural}`;
  await kubectl(["delete", "--raw", path], { allowFail: true });
  if (op && isTrainingRun(workload.name)) {
    await waitFor(`${ns}: ${k.plural} deleted`, 180_000, async () =>
      (await kubectl(["-n", ns, "get", k.plural, "-o", "name"], { allowFail: true })).stdout.trim() === "").catch((err: unknown) => ctx.log(String(err)));
  }
  await stopOperator(op);
  await deleteNamespace(ns);
  await waitFor(`namespace ${ns} deleted`, 300_000, async () =>
    (await kubectl(["get", "namespace", ns, "--ignore-not-found", "-o", "name"], { allowFail: true })).stdout.trim() === "")
    .catch((err: unknown) => ctx.log(String(err)));
}
