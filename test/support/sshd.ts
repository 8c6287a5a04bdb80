import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real OpenSSH server as a plain process on 127.0.0.1: its own host key,
 * config and authorized_keys under a temp dir, a local test user whose home lives there too, and
 * password login (chpasswd). Needs root and the openssh-server package (hack/test-services.sh up).
 * Keys are generated per start; nothing secret is committed.
 */
export interface TestSshd {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly user: string;
  readonly home: string;
  readonly password: string;
  /** OpenSSH private key (no passphrase) and one encrypted with `passphrase`. */
  readonly privateKey: string;
  readonly encryptedPrivateKey: string;
  readonly passphrase: string;
  /** The host key as `ssh-keygen -lf` prints it, and as a known_hosts line. */
  readonly fingerprint: string;
  readonly knownHostsLine: string;
  /** A valid fingerprint of some other key, for mismatch tests. */
  readonly otherFingerprint: string;
  /** Kills the per-connection sshd processes: every client connection drops, the listener stays. */
  killSessions(): void;
  /** Stops and starts the listener on the same port with the same host key. */
  restart(): Promise<void>;
  /** Runs a command on this host as the test user (for assertions on the "VM"). */
  runAsUser(script: string): string;
  stop(): Promise<void>;
}

export interface TestSshdOptions {
  /** Login name; created when missing. Default amlvmtest. */
  readonly user?: string;
  /** Extra groups (e.g. docker, so Docker mode works for the user). */
  readonly groups?: readonly string[];
}

const SSHD = "/usr/sbin/sshd"; // sshd refuses to start by a relative path

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function keygen(path: string, passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "aml-test", "-f", path]);
}

function ensureUser(user: string, home: string, groups: readonly string[]): void {
  const exists = (() => { try { execFileSync("id", ["-u", user], { stdio: "ignore" }); return true; } catch { return false; } })();
  if (!exists) execFileSync("useradd", ["-M", "-d", home, "-s", "/bin/bash", user]);
  else execFileSync("usermod", ["-d", home, "-s", "/bin/bash", user]);
  for (const g of groups) {
    try { execFileSync("usermod", ["-aG", g, user], { stdio: "ignore" }); } catch { /* group absent: feature tests will say so */ }
  }
  mkdirSync(home, { recursive: true });
  execFileSync("chown", [`${user}:`, home]);
}

function waitListening(proc: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${log}`)), 10_000);
    proc.stderr?.on("data", (c: Buffer) => {
      log += c.toString();
      if (log.includes("Server listening on")) { clearTimeout(timer); resolve(); }
    });
    proc.once("exit", (code) => { clearTimeout(timer); reject(new Error(`sshd exited ${code}: ${log}`)); });
  });
}

export async function startTestSshd(opts: TestSshdOptions = {}): Promise<TestSshd> {
  const user = opts.user ?? "amlvmtest";
  const dir = mkdtempSync(join(tmpdir(), "aml-sshd-"));
  chmodSync(dir, 0o755);
  const home = join(dir, "home");
  const port = await freePort();
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const passphrase = `pp-${Math.random().toString(36).slice(2)}`;
  keygen(join(dir, "host_key"));
  keygen(join(dir, "other_host_key"));
  keygen(join(dir, "client_key"));
  keygen(join(dir, "client_key_enc"), passphrase);
  mkdirSync(join(dir, "akeys"));
  const pub = readFileSync(join(dir, "client_key.pub"), "utf8") + readFileSync(join(dir, "client_key_enc.pub"), "utf8");
  writeFileSync(join(dir, "akeys", user), pub, { mode: 0o644 });
  ensureUser(user, home, opts.groups ?? []);
  execFileSync("chpasswd", { input: `${user}:${password}\n` });
  mkdirSync("/run/sshd", { recursive: true }); // privilege separation dir, required as root
  const config = [
    `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${join(dir, "host_key")}`, `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "akeys")}/%u`, "StrictModes no", "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no", "UsePAM yes", `AllowUsers ${user}`, "Subsystem sftp internal-sftp",
    "MaxSessions 50", "MaxStartups 50:30:100", "LogLevel INFO",
  ].join("\n");
  const configPath = join(dir, "sshd_config");
  writeFileSync(configPath, `${config}\n`);
  execFileSync(SSHD, ["-t", "-f", configPath]);

  let proc: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawn(SSHD, ["-D", "-e", "-f", configPath], { stdio: ["ignore", "ignore", "pipe"] });
    await waitListening(proc);
    proc.stderr?.resume();
  };
  // Per-connection sshd processes: the [priv] child of the listener and its unprivileged child.
  const sessionPids = (): number[] => {
    const children = (ppid: number): number[] => {
      let out = "";
      try { out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(ppid)], { encoding: "utf8" }); } catch { return []; } // exit 1: none
      return out.trim().split("\n").filter((l) => /\ssshd$/.test(l.trim()))
        .map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
    };
    if (!proc?.pid) return [];
    const direct = children(proc.pid);
    return [...direct, ...direct.flatMap(children)];
  };
  const killSessions = (): void => {
    for (const pid of sessionPids()) { try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ } }
  };
  const stopListener = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => { p.once("exit", () => resolve()); p.kill("SIGTERM"); });
  };
  await start();
  const fp = (file: string): string => execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).split(" ")[1] ?? "";
  const hostPub = readFileSync(join(dir, "host_key.pub"), "utf8").trim().split(" ");

  return {
    host: "127.0.0.1", port, user, home, password, passphrase,
    privateKey: readFileSync(join(dir, "client_key"), "utf8"),
    encryptedPrivateKey: readFileSync(join(dir, "client_key_enc"), "utf8"),
    fingerprint: fp(join(dir, "host_key.pub")),
    otherFingerprint: fp(join(dir, "other_host_key.pub")),
    knownHostsLine: `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}`,
    killSessions,
    restart: async () => { killSessions(); await stopListener(); await start(); },
    runAsUser: (script) => execFileSync("runuser", ["-u", user, "--", "bash", "-c", script], { encoding: "utf8", cwd: home }),
    stop: async () => {
      killSessions();
      await stopListener();
      // Leftover detached test processes of the user are ours to end (by pid, never by name).
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
