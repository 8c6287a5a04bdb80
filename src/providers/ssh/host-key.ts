import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** `SHA256:<base64 without padding>` of a raw public key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export interface KnownHostKey {
  readonly keyType: string;
  readonly key: Buffer;
  readonly revoked: boolean;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

/** `|1|salt|hash` entries (HashKnownHosts yes): HMAC-SHA1 of the name keyed by the salt. */
function hashedMatches(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split("|");
  if (!salt || !hash) return false;
  const want = Buffer.from(hash, "base64");
  const got = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

function hostsFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    if (!globToRegExp(negated ? pattern.slice(1) : pattern).test(name)) continue;
    if (negated) return false; // a matching negation wins over any positive match (sshd(8))
    matched = true;
  }
  return matched;
}

/** The keys known_hosts text lists for one host name; @cert-authority lines are not supported. */
export function parseKnownHosts(text: string, name: string): KnownHostKey[] {
  const keys: KnownHostKey[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
    const [hosts, keyType, keyB64] = fields;
    if (!hosts || !keyType || !keyB64 || marker === "@cert-authority") continue;
    if (!hostsFieldMatches(hosts, name)) continue;
    keys.push({ keyType, key: Buffer.from(keyB64, "base64"), revoked: marker === "@revoked" });
  }
  return keys;
}

export type HostKeyPin =
  | { readonly fingerprint: string }
  | { readonly knownHosts: readonly KnownHostKey[] };

/** True when the presented key blob is the pinned one. Never accepts when nothing is pinned. */
export function hostKeyMatches(pin: HostKeyPin, keyBlob: Buffer): boolean {
  if ("fingerprint" in pin) return fingerprintOf(keyBlob) === pin.fingerprint.replace(/=+$/, "");
  if (pin.knownHosts.some((k) => k.revoked && k.key.equals(keyBlob))) return false;
  return pin.knownHosts.some((k) => !k.revoked && k.key.equals(keyBlob));
}

/** Host key algorithms to offer so that negotiation picks a key type known_hosts lists. */
export function hostKeyAlgorithms(pin: HostKeyPin): string[] | undefined {
  if ("fingerprint" in pin) return undefined;
  const types = new Set<string>();
  for (const k of pin.knownHosts) {
    if (k.revoked) continue;
    // An RSA key can be presented with SHA-2 signatures; known_hosts names it ssh-rsa.
    if (k.keyType === "ssh-rsa") ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"].forEach((t) => types.add(t));
    else types.add(k.keyType);
  }
  return types.size ? [...types] : undefined;
}
