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
  const run = (argv: string[], files: Record<string, string>, interpreterNeeded = true) => {
    const dir = mkdtempSync(join(tmpdir(), "entry-test-"));
    try {
      const list = Object.entries(files).map(([path, content]) => ({ path, content }));
      writeFileSync(join(dir, "entry.py"), renderEntryScript({ snapshot: { digest: "sha256:x", files: list, totalBytes: 0 }, argv, interpreterNeeded, env: { GREETING: "it's \"quoted\"" } }));
      const r = spawnSync("python3", [join(dir, "entry.py")], { encoding: "utf8", cwd: dir });
      return { code: r.status, out: r.stdout };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("runs the script from its own snapshot with arguments, environment and exit code intact", () => {
    const r = run(["pkg/main.py", "a b", "'; rm -rf /", "$HOME"], {
      "pkg/main.py": "import os, sys\nfrom helper import n\nprint(sys.argv[1:], os.environ['GREETING'], n)\nsys.exit(3)\n",
      "pkg/helper.py": "n = 7\n",
    });
    expect(r.out).toContain(`['a b', "'; rm -rf /", '$HOME'] it's "quoted" 7`);
    expect(r.code).toBe(3);
    expect(exitCodeFromLogs(r.out)).toBe(3);
    expect(withoutMarker(r.out)).not.toContain("[amlcompute]");
  });

  it("runs a command when no interpreter is needed, and refuses paths that escape the snapshot", () => {
    expect(exitCodeFromLogs(run(["sh", "-c", "exit 0"], {}, false).out)).toBe(0);
    expect(run(["x.py"], { "../evil.py": "" }).code).not.toBe(0);
  });

  it("finds no exit code in logs without the marker", () => {
    expect(exitCodeFromLogs("plain output\n")).toBeUndefined();
    expect(exitCodeFromLogs(undefined)).toBeUndefined();
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
