// The benchmark's own view of the cluster: a KubeClientImpl (separate request counters from the
// operator's) for fast creates, and watches that timestamp the events the latencies are made of.
import pino from "pino";
import { Kinds, Labels, type TrainingRun } from "../src/api/v1alpha1/index.js";
import { KubeClientImpl } from "../src/kube/client-node.js";
import { BuiltinKinds, type KubeObject } from "../src/kube/types.js";
import { clusterKubeconfig } from "../test/cluster/kubectl.js";

/** First time (performance.now(), ms) the bench saw each milestone of a run, keyed by run uid. */
export interface Milestones {
  jobSeen: Map<string, number>;
  trainExited: Map<string, number>;
  final: Map<string, number>;
}

interface PodLike extends KubeObject {
  status?: { containerStatuses?: Array<{ name: string; state?: { terminated?: unknown } }> };
}

const FINAL_PHASES = new Set(["Completed", "Failed"]);

export class BenchCluster {
  readonly kube = KubeClientImpl.fromFile(clusterKubeconfig, { logger: pino({ level: "warn" }), identity: "aml-bench", http2: process.env.KUBE_API_HTTP2 !== "false" });
  readonly seen: Milestones = { jobSeen: new Map(), trainExited: new Map(), final: new Map() };

  /** Starts watches of run Jobs, run Pods and TrainingRuns in every namespace; resolves once synced. */
  async start(): Promise<void> {
    const bySelector = `${Labels.runUid}`;
    const first = (map: Map<string, number>, uid: string | undefined): void => {
      if (uid && !map.has(uid)) map.set(uid, performance.now());
    };
    const jobs = this.kube.watch(BuiltinKinds.Job, { labelSelector: bySelector });
    const onJob = (job: KubeObject): void => first(this.seen.jobSeen, job.metadata.labels?.[Labels.runUid]);
    jobs.addHandlers({ add: onJob, update: onJob });
    const pods = this.kube.watch<PodLike>(BuiltinKinds.Pod, { labelSelector: bySelector });
    const onPod = (pod: PodLike): void => {
      const train = pod.status?.containerStatuses?.find((c) => c.name === "train");
      if (train?.state?.terminated) first(this.seen.trainExited, pod.metadata.labels?.[Labels.runUid]);
    };
    pods.addHandlers({ add: onPod, update: onPod });
    const runs = this.kube.watch<TrainingRun>(Kinds.TrainingRun);
    const onRun = (run: TrainingRun): void => {
      if (FINAL_PHASES.has(run.status?.phase ?? "")) first(this.seen.final, run.metadata.uid);
    };
    runs.addHandlers({ add: onRun, update: onRun });
    for (const informer of [jobs, pods, runs]) informer.start();
    await Promise.all([jobs, pods, runs].map((i) => i.waitForSync()));
  }

  stop(): void {
    this.kube.stop();
  }

  /**
   * Creates `objects` with at most `inFlight` requests outstanding; returns, per created object,
   * its uid and when the create call returned (performance.now(), ms).
   */
  async createAll<T extends KubeObject>(objects: T[], inFlight = 50): Promise<Array<{ uid: string; createdAt: number }>> {
    const results: Array<{ uid: string; createdAt: number }> = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < objects.length) {
        const obj = objects[next++] as T;
        const created = await this.kube.create(kindOf(obj), obj);
        results.push({ uid: created.metadata.uid ?? "", createdAt: performance.now() });
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, objects.length) }, worker));
    return results;
  }

  /** Resolves when `done()` is true, polling every 50 ms; throws after `timeoutMs`. */
  async until(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function kindOf(obj: KubeObject) {
  const kinds = { ...Kinds, ...BuiltinKinds } as Record<string, (typeof Kinds)["TrainingRun"]>;
  const kind = kinds[obj.kind ?? ""];
  if (!kind) throw new Error(`bench cannot create kind ${obj.kind}`);
  return kind;
}
