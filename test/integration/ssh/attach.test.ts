import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteVmProvider } from "../../../src/providers/ssh/index.js";
import { startTestSshd, type TestSshd } from "../../support/sshd.js";
import { aRemoteVmTarget, credentialsFor, fakeContext, withFingerprint, withKnownHostsSecret, withWorkDir } from "./fixtures.js";

describe("RemoteVM attach (ensure = probe) against a real sshd", () => {
  let sshd: TestSshd;
  const entry = createRemoteVmProvider({ idleTimeoutMs: 2_000 });

  beforeAll(async () => { sshd = await startTestSshd({ groups: ["docker"] }); });
  afterAll(async () => { entry.pool.closeAll(); await sshd?.stop(); });

  it.each([
    ["a private key", "key"],
    ["an encrypted private key with its passphrase", "encryptedKey"],
    ["a password", "password"],
  ] as const)("is Ready with %s and reports capabilities", async (_name, kind) => {
    const ctx = fakeContext({ "ns/vm-creds": credentialsFor(sshd, kind) });
    const obs = await entry.compute.ensure(aRemoteVmTarget(sshd), ctx);
    expect(obs.ready).toMatchObject({ status: "True", reason: "Ready" });
    expect(obs.status?.capabilities?.os).toMatch(/Linux/);
    expect(obs.status?.capabilities?.pythonVersions).toContain(
      (await import("node:child_process")).execFileSync("/usr/bin/python3", ["-c", "import platform;print(platform.python_version())"], { encoding: "utf8" }).trim(),
    );
    expect(obs.status?.capabilities?.gpus).toBe(0);
    expect(obs.status?.runningRuns).toBe(0);
    expect(sshd.runAsUser("test -d .amlcompute/envs && test -d .amlcompute/runs && echo ok").trim()).toBe("ok");
  });

  it("accepts the host key from a known_hosts Secret", async () => {
    const ctx = fakeContext({
      "ns/vm-creds": credentialsFor(sshd, "key"),
      "ns/vm-known-hosts": { known_hosts: `# pinned\n${sshd.knownHostsLine}\n` },
    });
    const obs = await entry.compute.ensure(aRemoteVmTarget(sshd, withKnownHostsSecret("vm-known-hosts")), ctx);
    expect(obs.ready).toMatchObject({ status: "True", reason: "Ready" });
  });

  it("refuses a host presenting another key: HostKeyMismatch", async () => {
    const ctx = fakeContext({ "ns/vm-creds": credentialsFor(sshd, "password") });
    const obs = await entry.compute.ensure(aRemoteVmTarget(sshd, withFingerprint(sshd.otherFingerprint)), ctx);
    expect(obs.ready).toMatchObject({ status: "False", reason: "HostKeyMismatch", severity: "Error" });
  });

  it("refuses a known_hosts Secret listing another key for the host: HostKeyMismatch", async () => {
    const other = sshd.knownHostsLine.replace(/ \S+$/, " AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl");
    const ctx = fakeContext({ "ns/vm-creds": credentialsFor(sshd, "key"), "ns/kh": { known_hosts: other } });
    const obs = await entry.compute.ensure(aRemoteVmTarget(sshd, withKnownHostsSecret("kh")), ctx);
    expect(obs.ready).toMatchObject({ status: "False", reason: "HostKeyMismatch" });
  });

  it("reports a wrong password as AuthenticationFailed", async () => {
    const ctx = fakeContext({ "ns/vm-creds": { password: "wrong" } });
    const obs = await entry.compute.ensure(aRemoteVmTarget(sshd), ctx);
    expect(obs.ready).toMatchObject({ status: "False", reason: "AuthenticationFailed", severity: "Error" });
  });

  it("reports a wrong key passphrase as AuthenticationFailed", async () => {
    const ctx = fakeContext({ "ns/vm-creds": { privateKey: sshd.encryptedPrivateKey, passphrase: "nope" } });
    const obs = await entry.compute.ensure(aRemoteVmTarget(sshd), ctx);
    expect(obs.ready).toMatchObject({ status: "False", reason: "AuthenticationFailed" });
  });

  it("reports a missing Secret as SecretNotFound without connecting", async () => {
    const obs = await entry.compute.ensure(aRemoteVmTarget(sshd), fakeContext({}));
    expect(obs.ready).toMatchObject({ status: "False", reason: "SecretNotFound" });
  });

  it("reports a closed port as Unreachable and asks to be retried", async () => {
    const ctx = fakeContext({ "ns/vm-creds": credentialsFor(sshd, "key") });
    const target = aRemoteVmTarget(sshd, (t) => { t.spec.remoteVM!.port = 1; });
    const obs = await entry.compute.ensure(target, ctx);
    expect(obs.ready).toMatchObject({ status: "False", reason: "Unreachable", severity: "Warning" });
    expect(obs.requeueAfterMs).toBeGreaterThan(0);
  });

  it("reports a workDir the user cannot create as InvalidSpec, and accepts ~/ paths", async () => {
    const ctx = fakeContext({ "ns/vm-creds": credentialsFor(sshd, "key") });
    const forbidden = await entry.compute.ensure(aRemoteVmTarget(sshd, withWorkDir("/root/aml-forbidden")), ctx);
    expect(forbidden.ready).toMatchObject({ status: "False", reason: "InvalidSpec" });
    const tilde = await entry.compute.ensure(aRemoteVmTarget(sshd, withWorkDir("~/aml-tilde")), ctx);
    expect(tilde.ready).toMatchObject({ status: "True" });
    expect(sshd.runAsUser("test -d aml-tilde/runs && echo ok").trim()).toBe("ok");
  });

  it("detaches on release without touching the VM", async () => {
    sshd.runAsUser("mkdir -p .amlcompute/runs/keep && touch .amlcompute/runs/keep/x");
    await expect(entry.compute.release(aRemoteVmTarget(sshd), fakeContext({}))).resolves.toEqual({ done: true });
    expect(sshd.runAsUser("ls .amlcompute/runs/keep").trim()).toBe("x");
  });
});
