/**
 * The few API calls the plugin makes, over @kubernetes/client-node with the user's kubeconfig
 * (--kubeconfig, $KUBECONFIG or ~/.kube/config; --context), exactly as kubectl resolves it.
 * The plugin is its own executable, so it talks to the API server directly rather than through the
 * operator's informer-backed KubeClient.
 */
/* eslint-disable no-restricted-imports -- a separate executable; no operator seam to keep */
import { PassThrough, type Writable } from "node:stream";
import {
  ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, Log, PatchStrategy, setHeaderOptions,
} from "@kubernetes/client-node";
/* eslint-enable no-restricted-imports */
import { GROUP, VERSION } from "../api/v1alpha1/index.js";
import type { ComputeTarget, Sweep, TrainingRun } from "../api/v1alpha1/index.js";

export interface ConnectOptions { kubeconfig?: string; context?: string; namespace?: string }

export class CliKube {
  readonly namespace: string;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(private readonly kc: KubeConfig, namespace?: string) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespace = namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  }

  static connect(opts: ConnectOptions): CliKube {
    const kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    if (opts.context) kc.setCurrentContext(opts.context);
    return new CliKube(kc, opts.namespace);
  }

  private ref(plural: string): { group: string; version: string; namespace: string; plural: string } {
    return { group: GROUP, version: VERSION, namespace: this.namespace, plural };
  }

  async createRun(run: TrainingRun): Promise<TrainingRun> {
    return await this.custom.createNamespacedCustomObject({ ...this.ref("trainingruns"), body: run }) as TrainingRun;
  }

  async getRun(name: string): Promise<TrainingRun> {
    return await this.custom.getNamespacedCustomObject({ ...this.ref("trainingruns"), name }) as TrainingRun;
  }

  async cancelRun(name: string): Promise<TrainingRun> {
    return await this.custom.patchNamespacedCustomObject(
      { ...this.ref("trainingruns"), name, body: { spec: { cancel: true } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    ) as TrainingRun;
  }

  async createSweep(sweep: Sweep): Promise<Sweep> {
    return await this.custom.createNamespacedCustomObject({ ...this.ref("sweeps"), body: sweep }) as Sweep;
  }

  async getSweep(name: string): Promise<Sweep> {
    return await this.custom.getNamespacedCustomObject({ ...this.ref("sweeps"), name }) as Sweep;
  }

  async listTargets(): Promise<ComputeTarget[]> {
    const list = await this.custom.listNamespacedCustomObject(this.ref("computetargets")) as { items: ComputeTarget[] };
    return list.items;
  }

  /** A Secret of the namespace, decoded; undefined when absent (or not readable: the caller falls back). */
  async readSecret(name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ name, namespace: this.namespace });
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async podExists(name: string): Promise<boolean> {
    try {
      await this.core.readNamespacedPod({ name, namespace: this.namespace });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Copies a container's log to `out` (without ending it); resolves when the server closes the stream. */
  async streamLog(pod: string, container: string, out: Writable, follow: boolean): Promise<void> {
    const pipe = new PassThrough();
    const done = new Promise<void>((resolve, reject) => {
      pipe.on("end", resolve);
      pipe.on("error", reject);
    });
    pipe.pipe(out, { end: false });
    await new Log(this.kc).log(this.namespace, pod, container, pipe, { follow });
    await done;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/** The API server's message for an ApiException (its Status body), else the error's own. */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === "string" ? safeJson(err.body) : err.body;
    const message = (body as { message?: string } | undefined)?.message;
    return message ? `${message} (HTTP ${err.code})` : `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { message: s };
  }
}
