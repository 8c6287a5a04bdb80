import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fingerprintOf, hostKeyAlgorithms, hostKeyMatches, knownHostsName, parseKnownHosts } from "./host-key.js";

const KEY_A = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", "base64");
const KEY_B = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIHZmE2Y9Yj4m0q4b3qE6YV0pqk3m3n0z6m1Kq7Yq3x0A", "base64");
const b64 = (b: Buffer): string => b.toString("base64");

function hashedHost(name: string): string {
  const salt = Buffer.from("0123456789abcdefghij");
  return `|1|${b64(salt)}|${b64(createHmac("sha1", salt).update(name).digest())}`;
}

describe("host key pinning", () => {
  it("prints fingerprints the way ssh-keygen -lf does (unpadded base64 of sha256)", () => {
    const want = `SHA256:${createHash("sha256").update(KEY_A).digest("base64").replace(/=+$/, "")}`;
    expect(fingerprintOf(KEY_A)).toBe(want);
    expect(hostKeyMatches({ fingerprint: want }, KEY_A)).toBe(true);
    expect(hostKeyMatches({ fingerprint: `${want}=` }, KEY_A)).toBe(true);
    expect(hostKeyMatches({ fingerprint: want }, KEY_B)).toBe(false);
  });

  it("names non-22 ports [host]:port as known_hosts does", () => {
    expect(knownHostsName("vm.example", 22)).toBe("vm.example");
    expect(knownHostsName("10.0.0.4", 2222)).toBe("[10.0.0.4]:2222");
  });

  it.each([
    ["a plain entry", `vm.example ssh-ed25519 ${b64(KEY_A)}`, "vm.example", 1],
    ["one of several comma-separated names", `other,vm.example ssh-ed25519 ${b64(KEY_A)} comment`, "vm.example", 1],
    ["a wildcard", `*.example ssh-ed25519 ${b64(KEY_A)}`, "vm.example", 1],
    ["a negated wildcard", `*.example,!vm.example ssh-ed25519 ${b64(KEY_A)}`, "vm.example", 0],
    ["a hashed name", `${hashedHost("[vm.example]:2222")} ssh-ed25519 ${b64(KEY_A)}`, "[vm.example]:2222", 1],
    ["another host", `other ssh-ed25519 ${b64(KEY_A)}`, "vm.example", 0],
    ["a comment line", `# vm.example ssh-ed25519 ${b64(KEY_A)}`, "vm.example", 0],
    ["a @cert-authority line (unsupported)", `@cert-authority vm.example ssh-ed25519 ${b64(KEY_A)}`, "vm.example", 0],
  ])("parses %s", (_name, text, host, count) => {
    expect(parseKnownHosts(text, host)).toHaveLength(count);
  });

  it("accepts only listed keys and never a @revoked one", () => {
    const pin = { knownHosts: parseKnownHosts(`vm ssh-ed25519 ${b64(KEY_A)}\n@revoked vm ssh-ed25519 ${b64(KEY_B)}\n`, "vm") };
    expect(hostKeyMatches(pin, KEY_A)).toBe(true);
    expect(hostKeyMatches(pin, KEY_B)).toBe(false);
    expect(hostKeyMatches({ knownHosts: [] }, KEY_A)).toBe(false);
  });

  it("offers the host key algorithms known_hosts lists, RSA with its SHA-2 variants", () => {
    const pin = { knownHosts: parseKnownHosts(`vm ssh-rsa ${b64(KEY_A)}\nvm ssh-ed25519 ${b64(KEY_B)}`, "vm") };
    expect(hostKeyAlgorithms(pin)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519"]);
    expect(hostKeyAlgorithms({ fingerprint: "SHA256:x" })).toBeUndefined();
  });
});
