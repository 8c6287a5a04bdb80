import { describe, expect, it } from "vitest";
import { dataPlaneEnv, parseConnectionString, settingsFor, storeSettings, StoreConfigError } from "./config.js";
import { describeStoreError, storeReasonOf, toStoreError, StoreError } from "./errors.js";
import { attemptPrefix, encodeBlobPath, runRootPrefix } from "./layout.js";
import { limitProblem } from "./limits.js";
import { canonicalManifestBytes, comparePaths, manifestDigest, normalizeMode, sha256Of, type ManifestEntry } from "./manifest.js";
import { outputsStatusOf } from "./result.js";
import { runnerArgv, runnerScript } from "./runner/index.js";
import { accountNameOf } from "./sas.js";
import { manifestProblems } from "./validate.js";

const entry = (path: string, content = path, mode = 0o644): ManifestEntry => ({ path, mode, size: Buffer.byteLength(content), sha256: sha256Of(content) });
const AZURITE_CS = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5PT0=;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";
const common = { containers: { snapshots: "s", runs: "r" }, sasLifetimeMs: 3_600_000 };

describe("manifest digest", () => {
  it("is the same for the same tree in any order and any umask, different for other content or exec bits", () => {
    const a = [entry("b/c.py"), entry("a.txt", "x", 0o664)];
    const b = [entry("a.txt", "x", 0o644), entry("b/c.py")];
    expect(manifestDigest(a)).toBe(manifestDigest(b));
    expect(manifestDigest(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(manifestDigest([entry("a.txt", "y"), entry("b/c.py")])).not.toBe(manifestDigest(a));
    expect(manifestDigest([entry("a.txt", "x", 0o755), entry("b/c.py")])).not.toBe(manifestDigest(a));
  });

  it("sorts by UTF-8 bytes, not UTF-16 code units, and writes compact JSON with fixed keys", () => {
    // U+FF5E (3 UTF-8 bytes, EF..) sorts before U+1F600 (4 bytes, F0..) by bytes, after it by UTF-16 units.
    expect(comparePaths("\uff5e", "\u{1f600}")).toBeLessThan(0);
    expect("\uff5e" < "\u{1f600}").toBe(false);
    const text = canonicalManifestBytes([entry("\u{1f600}"), entry("\uff5e")]).toString("utf8");
    expect(text.indexOf("\uff5e")).toBeLessThan(text.indexOf("\u{1f600}"));
    expect(text.startsWith('{"version":1,"files":[{"path":')).toBe(true);
    expect(text).not.toContain(" ");
  });

  it("keeps only the executable bit", () => {
    expect(normalizeMode(0o100775)).toBe(0o755);
    expect(normalizeMode(0o600)).toBe(0o644);
  });
});

describe("manifest validation", () => {
  it.each([
    ["../etc/passwd", "climbs out"],
    ["a/../../b", "climbs out"],
    ["/abs", "absolute"],
    ["a//b", "empty"],
    ["./a", "empty or \".\""],
    ["a\\b", "backslash"],
    ["C:/x", "drive"],
    [`dir/${"s".repeat(256)}.py`, "name longer than 255 bytes"],
  ])("rejects %s", (path, what) => {
    expect(manifestProblems([entry(path)]).join(" ")).toContain(what);
  });

  it("rejects duplicates and a file that is also a directory", () => {
    expect(manifestProblems([entry("a"), entry("a")]).join()).toContain("duplicate");
    expect(manifestProblems([entry("a"), entry("a/b")]).join()).toContain("both a file and the directory");
    expect(manifestProblems([entry("x/a"), entry("x/b"), entry("ü/ß.py")])).toEqual([]);
  });
});

describe("limits", () => {
  it("names the largest files when the total is over the limit", () => {
    const files = [{ path: "small.py", size: 10 }, { path: "ckpt/big.bin", size: 200 }, { path: "data.npy", size: 150 }];
    const msg = limitProblem(files, { maxBytes: 300, maxFiles: 10 }) ?? "";
    expect(msg).toContain("over the limit");
    expect(msg.indexOf("ckpt/big.bin")).toBeLessThan(msg.indexOf("data.npy"));
    expect(limitProblem(files, { maxBytes: 1000, maxFiles: 2 })).toContain("3 files, over the limit of 2");
    expect(limitProblem(files, { maxBytes: 1000, maxFiles: 10 })).toBeUndefined();
  });
});

describe("store configuration", () => {
  it("reads an Azurite connection string: endpoint, account and key", () => {
    const s = storeSettings({ connectionString: AZURITE_CS, targetUrl: "http://10.244.0.1:10000/devstoreaccount1/" }, "test", common);
    expect(s.url).toBe("http://127.0.0.1:10000/devstoreaccount1");
    expect(s.targetUrl).toBe("http://10.244.0.1:10000/devstoreaccount1");
    expect({ ...s.auth }).toEqual({ kind: "sharedKey", accountName: "devstoreaccount1", accountKey: "a2V5PT0=" });
    expect(parseConnectionString("AccountKey=ab==;X=1").AccountKey).toBe("ab==");
  });

  it("never shows the key or SAS when the settings are logged", () => {
    const s = storeSettings({ connectionString: AZURITE_CS }, "test", common);
    expect(JSON.stringify({ config: { ...s } })).not.toContain("a2V5PT0=");
    expect(JSON.stringify(s)).toContain('"auth":{"kind":"sharedKey"}');
    const sas = storeSettings({ connectionString: "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=1&sig=SECRET" }, "t", common);
    expect(JSON.stringify(sas)).not.toContain("SECRET");
  });

  it("uses the operator's identity without a connection string and a SAS when the string holds one", () => {
    expect(storeSettings({ url: "https://acct.blob.core.windows.net" }, "t", common).auth.kind).toBe("token");
    expect({ ...storeSettings({ connectionString: "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=?sv=1&sig=x" }, "t", common).auth })
      .toEqual({ kind: "sas", sas: "sv=1&sig=x" });
    expect(() => storeSettings({}, "Secret ns/aml-store", common)).toThrow(StoreConfigError);
  });

  it("lets the namespace Secret win over the operator's environment", () => {
    const env = dataPlaneEnv({ AML_STORE_CONNECTION_STRING: AZURITE_CS });
    expect(env.operator?.url).toBe("http://127.0.0.1:10000/devstoreaccount1");
    expect(settingsFor(env, "ns", undefined)?.from).toContain("operator");
    const fromSecret = settingsFor(env, "ns", { url: "https://other.blob.core.windows.net" });
    expect(fromSecret?.from).toBe("Secret ns/aml-store");
    expect(fromSecret?.auth.kind).toBe("token");
    expect(dataPlaneEnv({}).operator).toBeUndefined();
  });

  it("finds the account name in Azure and emulator URLs", () => {
    expect(accountNameOf("https://acct.blob.core.windows.net")).toBe("acct");
    expect(accountNameOf("http://127.0.0.1:10000/devstoreaccount1")).toBe("devstoreaccount1");
  });
});

describe("store errors", () => {
  it("classifies unreachable, denied and full without echoing URLs", () => {
    expect(storeReasonOf({ code: "ECONNREFUSED" })).toBe("StoreUnavailable");
    expect(storeReasonOf({ statusCode: 503 })).toBe("StoreUnavailable");
    expect(storeReasonOf({ statusCode: 403, code: "AuthorizationPermissionMismatch" })).toBe("StoreAccessDenied");
    expect(storeReasonOf({ statusCode: 403, code: "AccountIsDisabled" })).toBe("StoreFull");
    expect(storeReasonOf({ statusCode: 409, code: "ContainerQuotaExceeded" })).toBe("StoreFull");
    expect(storeReasonOf({ statusCode: 404 })).toBeUndefined();
    const err = toStoreError({ statusCode: 403, code: "AuthenticationFailed", message: "see https://x/?sig=SECRET" }, "reading", "host/acct");
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).not.toContain("SECRET");
    expect((err as StoreError).reason).toBe("StoreAccessDenied");
    expect(describeStoreError({ code: "ENOTFOUND" })).toBe("ENOTFOUND");
  });
});

describe("layout and results", () => {
  const run = { namespace: "ns", name: "r", uid: "u-1" };
  it("puts attempts under the run's prefix and percent-encodes blob paths", () => {
    expect(attemptPrefix(run, 2)).toBe("ns/r-u-1/attempt-2/");
    expect(runRootPrefix(run)).toBe("ns/r-u-1/");
    expect(encodeBlobPath("outputs/dé jà#1.bin")).toBe("outputs/d%C3%A9%20j%C3%A0%231.bin");
  });

  it("shows outputs as store paths with counts, and why files were left out", () => {
    const s = outputsStatusOf("aml-runs", run, 1, { version: 1, reason: "Completed", executed: true, outputs: { files: 2, bytes: 10, skipped: ["link"] }, log: { blob: "logs/output.log", bytes: 5 } });
    expect(s).toEqual({ attempt: 1, location: "aml-runs/ns/r-u-1/attempt-1/outputs/", files: 2, bytes: 10, log: "aml-runs/ns/r-u-1/attempt-1/logs/output.log", logBytes: 5, message: "left out (not regular files): link" });
  });
});

describe("runner", () => {
  it("ships the script and builds its argv without a shell", () => {
    expect(runnerScript().text).toContain("def materialize(");
    expect(runnerScript().hash).toMatch(/^[0-9a-f]{12}$/);
    expect(runnerArgv("run", { script: "/r/aml_runner.py", workdir: "/w", log: "/l" }, ["train.py", "$(x)"]))
      .toEqual(["python3", "/r/aml_runner.py", "run", "--workdir", "/w", "--log", "/l", "--", "train.py", "$(x)"]);
  });
});
