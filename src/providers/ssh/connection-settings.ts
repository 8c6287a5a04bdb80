import { createHash } from "node:crypto";
import type { ComputeTarget } from "../../api/v1alpha1/index.js";
import { TerminalError } from "../../runtime/errors.js";
import type { ProviderContext } from "../types.js";
import { knownHostsName, parseKnownHosts, type HostKeyPin } from "./host-key.js";
import { SshReason } from "./ssh-errors.js";

/** The SSH fields RemoteVM and HDInsight share (compute-target.ts `sshFields`). */
export interface SshEndpointSpec {
  readonly address: string;
  readonly port?: number;
  readonly username: string;
  readonly credentialsSecretRef: { readonly name: string };
  readonly hostKey: { readonly fingerprint?: string; readonly knownHostsSecretRef?: { readonly name: string; readonly key?: string } };
}

/** Everything needed to open a connection. Holds secrets: never log it or put it in status. */
export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password?: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
  readonly pin: HostKeyPin;
  /** Pool key: endpoint + a hash of credentials and pin, so a rotated Secret gets a new connection. */
  readonly poolKey: string;
  /** `user@host:port` for messages. */
  readonly label: string;
}

async function readSecretOrFail(ctx: ProviderContext, namespace: string, name: string, what: string): Promise<Record<string, string>> {
  const data = await ctx.readSecret(namespace, name);
  if (!data) throw new TerminalError(`${what} Secret ${namespace}/${name} not found`, SshReason.SecretNotFound);
  return data;
}

async function resolvePin(spec: SshEndpointSpec, namespace: string, port: number, ctx: ProviderContext): Promise<HostKeyPin> {
  if (spec.hostKey.fingerprint) return { fingerprint: spec.hostKey.fingerprint };
  const ref = spec.hostKey.knownHostsSecretRef;
  if (!ref) throw new TerminalError("hostKey needs fingerprint or knownHostsSecretRef", SshReason.InvalidSpec);
  const data = await readSecretOrFail(ctx, namespace, ref.name, "known_hosts");
  const key = ref.key ?? "known_hosts";
  const text = data[key];
  if (text === undefined) throw new TerminalError(`Secret ${namespace}/${ref.name} has no key "${key}"`, SshReason.SecretNotFound);
  const knownHosts = parseKnownHosts(text, knownHostsName(spec.address, port));
  if (knownHosts.length === 0) {
    throw new TerminalError(`known_hosts in Secret ${namespace}/${ref.name} lists no key for ${knownHostsName(spec.address, port)}`, SshReason.HostKeyMismatch);
  }
  return { knownHosts };
}

/** Reads the credentials (and known_hosts) Secrets. Throws TerminalError(SecretNotFound|InvalidSpec). */
export async function resolveConnectionSettings(spec: SshEndpointSpec, namespace: string, ctx: ProviderContext): Promise<ConnectionSettings> {
  const port = spec.port ?? 22;
  const creds = await readSecretOrFail(ctx, namespace, spec.credentialsSecretRef.name, "credentials");
  const { password, privateKey, passphrase } = creds;
  if (!password && !privateKey) {
    throw new TerminalError(`Secret ${namespace}/${spec.credentialsSecretRef.name} needs key "password" or "privateKey"`, SshReason.InvalidSpec);
  }
  const pin = await resolvePin(spec, namespace, port, ctx);
  const digest = createHash("sha256")
    .update(JSON.stringify([password ?? "", privateKey ?? "", passphrase ?? "", pin]))
    .digest("hex")
    .slice(0, 32);
  return {
    host: spec.address, port, username: spec.username, password, privateKey, passphrase, pin,
    poolKey: `${spec.username}@${spec.address}:${port}#${digest}`,
    label: `${spec.username}@${spec.address}:${port}`,
  };
}

export function remoteVmSpecOf(target: ComputeTarget): NonNullable<ComputeTarget["spec"]["remoteVM"]> {
  const spec = target.spec.remoteVM;
  if (target.spec.type !== "RemoteVM" || !spec) {
    throw new TerminalError(`ComputeTarget ${target.metadata.name} is not a RemoteVM target`, SshReason.InvalidSpec);
  }
  return spec;
}

/**
 * workDir as the control script expects it: relative paths are under the login user's home
 * (where SSH commands start). A leading "~/" means the same; it is stripped because the script
 * quotes every path, so the shell would never expand it.
 */
export function workDirOf(spec: { readonly workDir?: string }): string {
  const dir = spec.workDir ?? ".amlcompute";
  if (dir === "~") return ".";
  return dir.startsWith("~/") ? dir.slice(2) || "." : dir;
}
