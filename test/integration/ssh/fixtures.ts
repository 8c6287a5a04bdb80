import { createHash, randomUUID } from "node:crypto";
import { pino } from "pino";
import type { ComputeTarget, RunConfigurationSpec, TrainingRun } from "../../../src/api/v1alpha1/index.js";
import type { ProviderContext, Attempt, RunExecutor, RunObservation, Snapshot } from "../../../src/providers/types.js";
import { startTestSshd, type TestSshd, type TestSshdOptions } from "../../support/sshd.js";
import { buildSnapshot } from "../../../src/snapshot/build.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { storedAttempt } from "../../support/executor-harness.js";

/** Provider-level tests need only readSecret; the controller-level e2e uses the real API server. */
export function fakeContext(secrets: Record<string, Record<string, string>>): ProviderContext {
  return {
    kube: undefined as never,
    log: pino({ level: "silent" }),
    now: new Date(), signal: new AbortController().signal,
    readSecret: async (namespace, name) => secrets[`${namespace}/${name}`],
  };
}

type TargetMod = (t: ComputeTarget) => void;

export function aRemoteVmTarget(sshd: TestSshd, ...mods: TargetMod[]): ComputeTarget {
  const t: ComputeTarget = {
    apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget",
    metadata: { name: "vm", namespace: "ns", uid: randomUUID() },
    spec: {
      type: "RemoteVM", deletionPolicy: "Delete",
      remoteVM: {
        address: sshd.host, port: sshd.port, username: sshd.user,
        credentialsSecretRef: { name: "vm-creds" },
        hostKey: { fingerprint: sshd.fingerprint },
        workDir: ".amlcompute", maxConcurrentRuns: 4,
      },
    },
  } as ComputeTarget;
  for (const m of mods) m(t);
  return t;
}

export const withMaxConcurrentRuns = (n: number): TargetMod => (t) => { t.spec.remoteVM!.maxConcurrentRuns = n; };
export const withWorkDir = (dir: string): TargetMod => (t) => { t.spec.remoteVM!.workDir = dir; };
export const withFingerprint = (fp: string): TargetMod => (t) => { t.spec.remoteVM!.hostKey = { fingerprint: fp }; };
export const withKnownHostsSecret = (name: string): TargetMod => (t) => { t.spec.remoteVM!.hostKey = { knownHostsSecretRef: { name, key: "known_hosts" } }; };

/** The same content-addressed snapshot the controller builds (one digest algorithm everywhere). */
export function snapshotOf(files: Record<string, string>): Snapshot {
  return buildSnapshot(Object.entries(files).map(([path, content]) => ({ path, content })));
}

export interface SubmissionInput {
  readonly target: ComputeTarget;
  readonly files: Record<string, string>;
  readonly script?: string;
  readonly args?: string[];
  readonly command?: string[];
  readonly config?: Partial<RunConfigurationSpec>;
  readonly environmentHash?: string;
  readonly attempt?: number;
  readonly uid?: string;
}

export function aSubmission(input: SubmissionInput): Attempt {
  const uid = input.uid ?? randomUUID();
  const script = input.command ? undefined : (input.script ?? "train.py");
  const run = {
    apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun",
    metadata: { name: `run-${uid.slice(0, 8)}`, namespace: "ns", uid },
    spec: { experimentName: "e", source: { inline: { files: [] } }, script, arguments: input.args, command: input.command, backoffLimit: 0, cancel: false, suspend: false },
  } as unknown as TrainingRun;
  const config = { computeTargetRef: { name: "vm" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...input.config } as RunConfigurationSpec;
  return {
    run, target: input.target, config, number: input.attempt ?? 1, handle: undefined, runId: `run-${uid.slice(0, 8)}`,
    snapshot: snapshotOf(input.files),
    environmentHash: input.environmentHash ?? createHash("sha256").update(JSON.stringify(config.environment ?? {})).digest("hex").slice(0, 16),
    argv: input.command ?? [script ?? "train.py", ...(input.args ?? [])],
    interpreterNeeded: !input.command,
  };
}

/**
 * The submission as the controller hands it over: its files uploaded to `store` (a real Blob API,
 * which the VM's runner reads through SAS URLs) and the attempt's storage set.
 */
export function aStoredSubmission(store: BlobStore, input: SubmissionInput): Promise<Attempt> {
  return storedAttempt(aSubmission(input), store, input.files);
}

const TERMINAL = new Set(["Succeeded", "Failed", "Lost"]);

/** Polls observe (as the controller does) until the attempt ends; submits again on continueSubmit. */
export async function observeUntilDone(
  executor: RunExecutor, sub: Attempt, handle: unknown, opts: { ctx: ProviderContext; timeoutMs?: number },
): Promise<{ obs: RunObservation; seen: Set<string>; handle: unknown }> {
  const { ctx, timeoutMs = 60_000 } = opts;
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  let h = handle;
  for (;;) {
    const obs = await executor.observe({ ...sub, handle: h }, ctx);
    seen.add(obs.state);
    if (obs.handle) h = obs.handle;
    if (TERMINAL.has(obs.state)) return { obs, seen, handle: h };
    if (obs.continueSubmit) h = await executor.submit(sub, ctx);
    if (Date.now() > deadline) throw new Error(`attempt still ${obs.state} after ${timeoutMs} ms: ${obs.outputTail ?? ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function credentialsFor(sshd: TestSshd, kind: "key" | "encryptedKey" | "password"): Record<string, string> {
  switch (kind) {
    case "key": return { privateKey: sshd.privateKey };
    case "encryptedKey": return { privateKey: sshd.encryptedPrivateKey, passphrase: sshd.passphrase };
    case "password": return { password: sshd.password };
  }
}

/** A fresh sshd "VM" with a target pointing at it and a context holding its credentials. */
export async function startVm(opts: { workDir: string; credentials: "key" | "encryptedKey" | "password"; sshd?: TestSshdOptions }): Promise<{ sshd: TestSshd; target: ComputeTarget; ctx: ProviderContext }> {
  const sshd = await startTestSshd(opts.sshd);
  return {
    sshd,
    target: aRemoteVmTarget(sshd, withWorkDir(opts.workDir)),
    ctx: fakeContext({ "ns/vm-creds": credentialsFor(sshd, opts.credentials) }),
  };
}
