import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TrainingRun } from "../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { classifyDatabricksError, DatabricksApiError } from "./api.js";
import { exitCodeFromLogs, renderEntryScript, withoutMarker } from "./entry-script.js";
import { databricksIdempotencyToken, mapRunState } from "./executor.js";
import { RestNetworkError } from "../shared/rest.js";

describe("mapRunState", () => {
  it.each([
    ["QUEUED", undefined, "Queued", "Queued"],
    ["PENDING", undefined, "Starting", "Starting"],
    ["RUNNING", undefined, "Running", "Running"],
    ["TERMINATING", undefined, "Running", "Finalizing"],
    ["TERMINATED", "SUCCESS", "Succeeded", "Completed"],
    ["TERMINATED", "FAILED", "Failed", "ScriptFailed"],
    ["TERMINATED", "TIMEDOUT", "Failed", "DeadlineExceeded"],
    ["TERMINATED", "CANCELED", "Failed", "Canceled"],
    ["INTERNAL_ERROR", undefined, "Failed", "SubmissionFailed"],
    ["SKIPPED", undefined, "Failed", "SubmissionFailed"],
  ])("maps %s/%s to %s (%s)", (life, result, state, reason) => {
    expect(mapRunState({ life_cycle_state: life, result_state: result })).toEqual({ state, reason });
  });
});

describe("the entry script", () => {
  // A stand-in runner that reports what it was handed (the real one is tested in test/integration/data-plane).
  const FAKE_RUNNER = "import json, os, sys\ndef main(argv):\n    print(json.dumps({'argv': argv, 'exe': sys.executable, 'env': {k: os.environ.get(k) for k in ('GREETING', 'AML_OUTPUT_URL')}}))\n    return int(os.environ.get('FAKE_EXIT', '0'))\n";
  const run = (argv: string[], interpreterNeeded = true, extraEnv: Record<string, string> = {}) => {
    const dir = mkdtempSync(join(tmpdir(), "entry-test-"));
    try {
      writeFileSync(join(dir, "entry.py"), renderEntryScript({
        argv, interpreterNeeded, env: { GREETING: "it's \"quoted\"" }, runner: FAKE_RUNNER,
        secrets: { AML_OUTPUT_URL: ["scope", "key"] },
      }));
      const r = spawnSync("python3", [join(dir, "entry.py")], { encoding: "utf8", cwd: dir, env: { ...process.env, AML_OUTPUT_URL: "from-the-cluster", ...extraEnv } });
      return { code: r.status, out: r.stdout, seen: JSON.parse(r.stdout.split("\n")[0]!) as { argv: string[]; exe: string; env: Record<string, string> } };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("hands the runner the argv intact, a fresh working directory, the environment and the driver's python; exits with its code", () => {
    const r = run(["pkg/main.py", "a b", "'; rm -rf /", "$HOME"], true, { FAKE_EXIT: "3" });
    const { argv } = r.seen;
    expect(argv[0]).toBe("all");
    expect(argv[argv.indexOf("--workdir") + 1]).toMatch(/amlcompute-/);
    expect(argv.slice(argv.indexOf("--") + 1)).toEqual([r.seen.exe, "pkg/main.py", "a b", "'; rm -rf /", "$HOME"]);
    expect(r.seen.env).toEqual({ GREETING: "it's \"quoted\"", AML_OUTPUT_URL: "from-the-cluster" });
    expect(r.code).toBe(3);
    expect(exitCodeFromLogs(r.out)).toBe(3);
    expect(withoutMarker(r.out)).not.toContain("[amlcompute]");
  });

  it("runs a command as it is when no interpreter is needed", () => {
    const r = run(["sh", "-c", "exit 0"], false);
    expect(r.seen.argv.slice(r.seen.argv.indexOf("--") + 1)).toEqual(["sh", "-c", "exit 0"]);
    expect(exitCodeFromLogs(r.out)).toBe(0);
  });
});

describe("classifyDatabricksError", () => {
  it.each([
    ["an invalid token", new DatabricksApiError(403, "PERMISSION_DENIED", "Invalid access token."), TerminalError, "AuthenticationFailed"],
    ["a missing credential", new DatabricksApiError(401, "UNAUTHENTICATED", "no token"), TerminalError, "AuthenticationFailed"],
    ["throttling", new DatabricksApiError(429, "REQUEST_LIMIT_EXCEEDED", "slow down", 5000), TransientError, "Throttled"],
    ["a server error", new DatabricksApiError(503, "TEMPORARILY_UNAVAILABLE", "later"), TransientError, "AzureError"],
    ["a bad request", new DatabricksApiError(400, "INVALID_PARAMETER_VALUE", "bad"), TerminalError, "AzureError"],
    ["no HTTP answer", new RestNetworkError("ECONNREFUSED"), TransientError, "Unreachable"],
  ])("classifies %s", (_what, err, cls, reason) => {
    const e = classifyDatabricksError(err, "call");
    expect(e).toBeInstanceOf(cls);
    expect((e as TerminalError).reason).toBe(reason);
  });

  it("keeps Retry-After for throttling", () => {
    expect(classifyDatabricksError(new DatabricksApiError(429, "X", "y", 5000), "c")).toMatchObject({ retryAfterMs: 5000 });
  });
});

it("the idempotency token is run UID + attempt within Databricks' 64 characters", () => {
  const run = { metadata: { uid: "0f8e2c1a-5b7d-4e7a-9c3b-123456789abc", name: "r", namespace: "n" } } as TrainingRun;
  expect(databricksIdempotencyToken(run, 12)).toBe("0f8e2c1a-5b7d-4e7a-9c3b-123456789abc-a12");
  expect(databricksIdempotencyToken(run, 12).length).toBeLessThanOrEqual(64);
});
