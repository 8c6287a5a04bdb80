import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunConfigurationSpec, TrainingRun } from "../../api/v1alpha1/index.js";
import { TerminalError, TransientError } from "../../runtime/errors.js";
import { BatchServiceError, classifyBatchError, type BatchTask } from "./data-plane.js";
import { batchJobId, mapTaskState } from "./executor.js";
import { batchCommandLine } from "./runner-task.js";

describe("mapTaskState", () => {
  it.each<[string, BatchTask, string, string]>([
    ["an active task", { id: "main", state: "active" }, "Queued", "Queued"],
    ["a preparing task", { id: "main", state: "preparing" }, "Starting", "Starting"],
    ["a running task", { id: "main", state: "running" }, "Running", "Running"],
    ["a successful task", { id: "main", state: "completed", executionInfo: { exitCode: 0, result: "success" } }, "Succeeded", "Completed"],
    ["a failing script", { id: "main", state: "completed", executionInfo: { exitCode: 3, result: "failure", failureInfo: { code: "FailureExitCode" } } }, "Failed", "ScriptFailed"],
    ["a terminated task", { id: "main", state: "completed", executionInfo: { result: "failure", failureInfo: { code: "TaskEnded" } } }, "Failed", "Canceled"],
    ["a task over its wall clock", { id: "main", state: "completed", executionInfo: { result: "failure", failureInfo: { code: "MaxWallClockTimeExceeded" } } }, "Failed", "DeadlineExceeded"],
    ["a resource file that did not download", { id: "main", state: "completed", executionInfo: { result: "failure", failureInfo: { code: "BlobDownloadMiscError" } } }, "Failed", "SubmissionFailed"],
  ])("maps %s", (_what, task, state, reason) => {
    expect(mapTaskState(task)).toEqual({ state, reason });
  });
});

describe("batchCommandLine", () => {
  it("hands exactly the argv to the runner, which works in src/, whatever the arguments hold (checked through sh word splitting)", () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-cmd-"));
    try {
      mkdirSync(join(dir, ".aml"));
      writeFileSync(join(dir, ".aml", "aml_runner.py"), "import json, sys\nprint(json.dumps(sys.argv[1:]))\n");
      const args = ["a b", "it's", "$(touch pwned)", "\"q\"", "back\\slash"];
      const line = batchCommandLine({ argv: ["echo.py", ...args], interpreterNeeded: true, config: {} as RunConfigurationSpec });
      expect(line.startsWith("/bin/bash -c ")).toBe(true);
      const r = spawnSync("sh", ["-c", line], { cwd: dir, encoding: "utf8" });
      const argv = JSON.parse(r.stdout) as string[];
      expect(argv.slice(0, 3)).toEqual(["all", "--workdir", "src"]);
      expect(argv.slice(argv.indexOf("--") + 1)).toEqual(["python3", "echo.py", ...args]);
      expect(existsSync(join(dir, "pwned"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("uses a userManaged interpreter and runs commands as they are", () => {
    expect(batchCommandLine({ argv: ["t.py"], interpreterNeeded: true, config: { environment: { userManaged: { interpreterPath: "/opt/py/bin/python" } } } as RunConfigurationSpec })).toContain("-- /opt/py/bin/python t.py");
    expect(batchCommandLine({ argv: ["./run.sh", "x"], interpreterNeeded: false, config: {} as RunConfigurationSpec })).toContain("-- ./run.sh x");
  });
});

it("batchJobId is deterministic, Batch-safe and at most 64 characters", () => {
  const run = { metadata: { uid: "0f8e2c1a-5b7d-4e7a-9c3b-123456789abc", name: "A_very.long/Run-name-that-goes-on-and-on-and-on" } } as TrainingRun;
  const id = batchJobId(run, 3);
  expect(id).toBe(batchJobId(run, 3));
  expect(id).toMatch(/^[a-z0-9-]{1,64}$/);
  expect(id.endsWith("-0f8e2c1a5b7d-a3")).toBe(true);
});

describe("classifyBatchError", () => {
  it.each([
    ["an invalid token", new BatchServiceError(401, "AuthenticationFailed", "x"), TerminalError, "AuthenticationFailed"],
    ["a missing role", new BatchServiceError(403, "AuthorizationFailure", "x"), TerminalError, "AuthorizationFailed"],
    ["throttling", new BatchServiceError(429, "TooManyRequests", "x", 3000), TransientError, "Throttled"],
    ["a server error", new BatchServiceError(500, "InternalError", "x"), TransientError, "AzureError"],
    ["a conflict", new BatchServiceError(409, "JobBeingDeleted", "x"), TransientError, "AzureError"],
    ["a bad request", new BatchServiceError(400, "InvalidPropertyValue", "x"), TerminalError, "AzureError"],
  ])("classifies %s", (_what, err, cls, reason) => {
    const e = classifyBatchError(err, "call");
    expect(e).toBeInstanceOf(cls);
    expect((e as TerminalError).reason).toBe(reason);
  });
});
