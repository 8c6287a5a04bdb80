import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EmulatorTls } from "./tls.js";

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
  /** e.g. http://127.0.0.1:41234/devstoreaccount1 */
  readonly blobEndpoint: string;
  readonly port: number;
  readonly accountName: string;
  readonly accountKey: string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Starts azurite-blob (in-memory) on a free loopback port and waits until it listens. With `tls`
 * it serves HTTPS with that certificate and accepts Entra bearer tokens (`--oauth basic`: issuer,
 * audience and expiry are checked), so clients can use their identity as against a real account.
 */
export async function startAzurite(opts: { tls?: EmulatorTls } = {}): Promise<Azurite> {
  const port = await freePort();
  const bin = join(repoRoot, "node_modules", ".bin", "azurite-blob");
  const secure = opts.tls ? ["--cert", join(opts.tls.dir, "server.pem"), "--key", join(opts.tls.dir, "server.key"), "--oauth", "basic"] : [];
  const child: ChildProcess = spawn(bin, [
    "--blobHost", "127.0.0.1", "--blobPort", String(port), "--inMemoryPersistence",
    "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent", ...secure,
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`azurite did not start: ${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes("successfully listens")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`azurite exited (${code}): ${out}`));
    });
  });
  return {
    blobEndpoint: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`,
    port,
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    close: async () => {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    },
  };
}
