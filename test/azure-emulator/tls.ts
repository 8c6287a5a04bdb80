import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";

export interface EmulatorTls {
  /** Directory holding the generated files (removed by the caller when it wants to). */
  readonly dir: string;
  readonly caPem: string;
  readonly caPath: string;
  /** System roots + this CA: what a client that must reach both should trust. */
  readonly bundlePath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1/localhost, generated with openssl at
 * start-up. Nothing is ever written into the repository.
 */
export function generateTls(): EmulatorTls {
  const dir = mkdtempSync(join(tmpdir(), "arm-emulator-tls-"));
  const p = (f: string) => join(dir, f);
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2",
    "-subj", "/CN=aml-compute-operator ARM emulator test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=127.0.0.1");
  writeFileSync(p("server.ext"), [
    "basicConstraints=CA:FALSE",
    "keyUsage=digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ].join("\n"));
  ossl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
    "-out", p("server.pem"), "-days", "2", "-extfile", p("server.ext"));
  const caPem = readFileSync(p("ca.pem"), "utf8");
  writeFileSync(p("bundle.pem"), [...rootCertificates, caPem].join("\n"));
  return {
    dir,
    caPem,
    caPath: p("ca.pem"),
    bundlePath: p("bundle.pem"),
    certPem: readFileSync(p("server.pem"), "utf8"),
    keyPem: readFileSync(p("server.key"), "utf8"),
  };
}
