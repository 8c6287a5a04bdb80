import { randomUUID } from "node:crypto";
import pino from "pino";
import type { ComputeTarget, TrainingRun } from "../../../src/api/v1alpha1/index.js";
import type { ProviderContext, TargetObservation } from "../../../src/providers/types.js";
import { createAmlComputeProvider, type AzureMlConfig } from "../../../src/providers/azureml/index.js";
import { TransientError } from "../../../src/runtime/errors.js";
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { generateTls, startAzurite, startEmulator, type Azurite, type Emulator, type EmulatorOptions } from "../../azure-emulator/index.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { storeOnAzurite } from "../data-plane/support.js";

export const WS = { subscriptionId: "11111111-2222-3333-4444-555555555555", resourceGroup: "rg-ml", name: "ws-test", location: "westeurope" };
export const NS = "team-a";

export interface Env {
  emu: Emulator;
  azurite?: Azurite;
  /** The run store (snapshots in, outputs out), on the workspace's Azurite in containers of its own. */
  store?: BlobStore;
  /** Operator-level configuration as main.ts would build it from src/config.ts. */
  config: AzureMlConfig;
  /** Secrets the fake ProviderContext can read: "ns/name" → data. */
  secrets: Map<string, Record<string, string>>;
  ctx: () => ProviderContext;
  provider: (extra?: Partial<AzureMlConfig>) => ReturnType<typeof createAmlComputeProvider>;
  close(): Promise<void>;
}

/**
 * The emulator (and Azurite when asked). `azuriteTls`: Azurite serves HTTPS and accepts Entra
 * tokens, as a storage account does for identity-based access; emulator and Azurite then share
 * one test CA, which this test process trusts (as an operator trusts a private CA).
 */
export async function startEnv(opts: EmulatorOptions & { withAzurite?: boolean; azuriteTls?: boolean } = {}): Promise<Env> {
  const shared = opts.azuriteTls ? generateTls() : undefined;
  if (shared) setDefaultCACertificates([...getCACertificates("default"), shared.caPem]);
  const azurite = opts.withAzurite || shared ? await startAzurite({ tls: shared }) : undefined;
  const emu = await startEmulator({
    ...(shared ? { tls: shared } : {}),
    workspaces: [WS], provisioningMs: 1200, updatingMs: 400, deletingMs: 600, retryAfterSeconds: 1,
    ...(azurite ? { azurite: { blobEndpoint: azurite.blobEndpoint, accountName: azurite.accountName, accountKey: azurite.accountKey } } : {}),
    ...opts,
  });
  const client = emu.clients[0]!;
  const secrets = new Map<string, Record<string, string>>([
    [`${NS}/aml-azure-credentials`, { AZURE_TENANT_ID: emu.tenantId, AZURE_CLIENT_ID: client.clientId, AZURE_CLIENT_SECRET: client.clientSecret }],
  ]);
  const config: AzureMlConfig = {
    armEndpoint: emu.url,
    authorityHost: emu.url,
    disableInstanceDiscovery: true,
    caBundlePath: emu.caPath,
    ...(azurite ? { blobEndpointTemplate: `${azurite.blobEndpoint.split("://")[0]}://127.0.0.1:${azurite.port}/{account}` } : {}),
    operationPollMs: 100,
    jobPollMs: 200,
    resyncMs: 60_000,
    requestBudget: { perSecond: 50, burst: 100 },
  };
  const log = pino({ level: "silent" });
  const ctx = (): ProviderContext => ({
    kube: undefined as never,
    log,
    now: new Date(), signal: new AbortController().signal,
    readSecret: async (ns, name) => secrets.get(`${ns}/${name}`),
  });
  const store = azurite ? (await storeOnAzurite(azurite)).store : undefined;
  return {
    emu, azurite, store, config, secrets, ctx,
    provider: (extra = {}) => createAmlComputeProvider({ ...config, ...extra }),
    close: async () => {
      const violations = emu.controls.contractViolations;
      await emu.close();
      await azurite?.close();
      // The emulator answered only in the shapes the published API documents.
      if (violations.length) throw new Error(`emulator broke the API contract:\n${violations.join("\n")}`);
    },
  };
}

export function makeTarget(name: string, amlCompute: Partial<NonNullable<ComputeTarget["spec"]["amlCompute"]>> = {}, extra: Partial<ComputeTarget["spec"]> = {}): ComputeTarget {
  return {
    apiVersion: "amlcompute.dev/v1alpha1",
    kind: "ComputeTarget",
    metadata: { name, namespace: NS, uid: randomUUID(), generation: 1 },
    spec: {
      type: "AmlCompute",
      deletionPolicy: "Delete",
      amlCompute: {
        workspace: { subscriptionId: WS.subscriptionId, resourceGroup: WS.resourceGroup, name: WS.name },
        mode: "Provision", adopt: false, vmSize: "STANDARD_D2_V2", vmPriority: "Dedicated",
        minNodes: 0, maxNodes: 2, idleSecondsBeforeScaleDown: 1800,
        ...amlCompute,
      },
      ...extra,
    },
    status: {},
  } as ComputeTarget;
}

export function makeRun(name: string, extra: Partial<TrainingRun["spec"]> = {}): TrainingRun {
  return {
    apiVersion: "amlcompute.dev/v1alpha1",
    kind: "TrainingRun",
    metadata: { name, namespace: NS, uid: randomUUID(), generation: 1 },
    spec: { experimentName: "exp", source: { inline: [] }, script: "train.py", backoffLimit: 0, cancel: false, suspend: false, ...extra },
    status: {},
  } as unknown as TrainingRun;
}

/** What the controller does with an observation: merge status fields, own `undefined` deletes. */
export function applyStatus(target: ComputeTarget, status: TargetObservation["status"] | undefined): ComputeTarget {
  const next = { ...(target.status ?? {}) } as Record<string, unknown>;
  for (const [k, v] of Object.entries(status ?? {})) {
    if (v === undefined) delete next[k];
    else next[k] = v;
  }
  return { ...target, status: next as ComputeTarget["status"] };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Plays the ComputeTarget controller: ensure(), persist status, wait requeueAfter (or the
 * TransientError's Retry-After), until `done` holds. Returns the last observation and target.
 */
export async function reconcileUntil(
  env: Env, provider: ReturnType<typeof createAmlComputeProvider>, target: ComputeTarget,
  opts: { until: (o: TargetObservation) => boolean; timeoutMs?: number; maxWaitMs?: number },
): Promise<{ obs: TargetObservation; target: ComputeTarget; calls: number; transient: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let calls = 0;
  let transient = 0;
  for (;;) {
    calls++;
    try {
      const obs = await provider.compute.ensure(target, env.ctx());
      target = applyStatus(target, obs.status);
      if (opts.until(obs)) return { obs, target, calls, transient };
      await sleep(Math.min(obs.requeueAfterMs ?? 100, opts.maxWaitMs ?? 200));
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      transient++;
      await sleep(Math.min(e.retryAfterMs ?? 100, opts.maxWaitMs ?? 1500));
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${calls} ensure() calls; status ${JSON.stringify(target.status)}`);
  }
}
