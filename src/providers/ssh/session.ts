import { Client, type ConnectConfig, type SFTPWrapper } from "ssh2";
import type { ConnectionSettings } from "./connection-settings.js";
import { hostKeyAlgorithms, hostKeyMatches } from "./host-key.js";
import { classifySshError } from "./ssh-errors.js";

export interface ExecResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, then EOF. */
  readonly stdin?: string | Buffer;
  /** Fail (transient) when the command has not finished by then. */
  readonly timeoutMs?: number;
}

/** Operations the providers need on one SSH connection. Paths are remote paths. */
export interface SshSession {
  readonly label: string;
  /** Runs a command line that the caller built with renderCommand/quoteArg only. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  writeFile(path: string, data: string | Buffer, mode?: number): Promise<void>;
  /** Atomic replace (posix-rename@openssh.com). */
  rename(from: string, to: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  readonly closed: boolean;
  close(): void;
}

const OUTPUT_LIMIT = 1 << 20;
const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;

class Ssh2Session implements SshSession {
  private sftpChannel?: Promise<SFTPWrapper>;
  closed = false;

  constructor(private readonly client: Client, readonly label: string) {
    client.on("close", () => { this.closed = true; });
    client.on("error", () => { this.closed = true; });
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      this.client.exec(command, (err, stream) => {
        if (err) return reject(classifySshError(err, this.label, false));
        const out: Buffer[] = []; const errOut: Buffer[] = []; let size = 0;
        const timer = setTimeout(() => {
          stream.close();
          reject(classifySshError(new Error(`command timed out after ${opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS} ms`), this.label, false));
        }, opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS);
        const keep = (buf: Buffer[], chunk: Buffer): void => {
          if (size < OUTPUT_LIMIT) buf.push(chunk);
          size += chunk.length;
        };
        stream.on("data", (c: Buffer) => keep(out, c));
        stream.stderr.on("data", (c: Buffer) => keep(errOut, c));
        stream.on("close", (code: number | null) => {
          clearTimeout(timer);
          resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errOut).toString("utf8") });
        });
        stream.on("error", (e: Error) => { clearTimeout(timer); reject(classifySshError(e, this.label, false)); });
        stream.end(opts.stdin ?? "");
      });
    }).catch((err: unknown) => {
      // ssh2 throws synchronously ("Not connected") on a connection that just closed.
      throw classifySshError(err, this.label, false);
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpChannel ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
    }).catch((err: unknown) => { throw classifySshError(err, this.label, false); });
    this.sftpChannel.catch(() => { this.sftpChannel = undefined; });
    return this.sftpChannel;
  }

  async writeFile(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) => {
      sftp.writeFile(path, data, { mode }, (err) => (err ? reject(this.sftpError(err, path)) : resolve()));
    });
  }

  async rename(from: string, to: string): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) => {
      sftp.ext_openssh_rename(from, to, (err) => (err ? reject(this.sftpError(err, to)) : resolve()));
    });
  }

  async exists(path: string): Promise<boolean> {
    const sftp = await this.sftp();
    return new Promise<boolean>((resolve, reject) => {
      sftp.stat(path, (err) => {
        if (!err) return resolve(true);
        // SFTP status 2 = NO_SUCH_FILE; anything else is a real failure.
        if ((err as { code?: number }).code === 2) return resolve(false);
        reject(this.sftpError(err, path));
      });
    });
  }

  private sftpError(err: Error, path: string): Error {
    return classifySshError(new Error(`sftp ${path}: ${err.message}`, { cause: err }), this.label, false);
  }

  close(): void {
    this.closed = true;
    this.client.end();
  }
}

/** Opens a verified, authenticated connection. Throws classified errors (ssh-errors.ts). */
export function openSession(settings: ConnectionSettings, signal?: AbortSignal): Promise<SshSession> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyRejected = false;
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(classifySshError(err, settings.label, hostKeyRejected));
    };
    const serverHostKey = hostKeyAlgorithms(settings.pin);
    const config: ConnectConfig = {
      host: settings.host,
      port: settings.port,
      username: settings.username,
      password: settings.password,
      privateKey: settings.privateKey,
      passphrase: settings.passphrase,
      readyTimeout: CONNECT_TIMEOUT_MS,
      // Keepalives turn a half-open connection into a 'close' event, so the pool drops it.
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer): boolean => {
        hostKeyRejected = !hostKeyMatches(settings.pin, key);
        return !hostKeyRejected;
      },
      ...(serverHostKey ? { algorithms: { serverHostKey: serverHostKey as never } } : {}),
    };
    client.once("ready", () => { settled = true; resolve(new Ssh2Session(client, settings.label)); });
    client.once("error", fail);
    signal?.addEventListener("abort", () => fail(new Error("connect aborted")), { once: true });
    try {
      client.connect(config);
    } catch (err) {
      fail(err); // ssh2 throws synchronously for unparsable keys / wrong passphrases
    }
  });
}
