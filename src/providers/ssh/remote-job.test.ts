import { describe, expect, it } from "vitest";
import { decideObservation, parseStatus, quantityToBytes, renderRun, safeName } from "./remote-job.js";
import type { Attempt } from "../types.js";

const status = (lines: string[], tail = ""): ReturnType<typeof parseStatus> => parseStatus(`${lines.join("\n")}\n---\n${tail}`);

describe("decideObservation", () => {
  it.each([
    ["a missing run directory is Lost", ["exists=0"], { state: "Lost" }],
    ["exit code 0 after Completed is Succeeded", ["exists=1", "started=1", "exit_code=0", "reason=Completed"], { state: "Succeeded", exitCode: 0 }],
    ["exit code 3 is Failed/ScriptFailed", ["exists=1", "started=1", "exit_code=3", "reason=ScriptFailed"], { state: "Failed", exitCode: 3, reason: "ScriptFailed" }],
    ["a deadline stop keeps its reason", ["exists=1", "started=1", "exit_code=143", "reason=DeadlineExceeded"], { state: "Failed", reason: "DeadlineExceeded" }],
    ["a live launcher in the running phase is Running", ["exists=1", "started=1", "pid=9", "alive=1", "phase=running"], { state: "Running" }],
    ["a live launcher building its env is Preparing", ["exists=1", "started=1", "pid=9", "alive=1", "phase=preparing", "env_status=building"], { state: "Preparing", reason: "BuildingEnvironment" }],
    ["a fresh start without pid is Starting", ["exists=1", "started=1", "started_age=1"], { state: "Starting" }],
    ["an old start without pid is Lost", ["exists=1", "started=1", "started_age=120"], { state: "Lost" }],
    ["a dead launcher without exit code is Lost", ["exists=1", "started=1", "pid=9"], { state: "Lost" }],
    ["a dead launcher after cancel is Canceled", ["exists=1", "started=1", "pid=9", "canceled=1"], { state: "Failed", reason: "Canceled" }],
    ["a queued attempt waits", ["exists=1", "queued=1", "queue_position=2"], { state: "Queued", message: expect.stringContaining("position 2") }],
    ["a queued attempt with a free slot asks for submit", ["exists=1", "queued=1", "admissible=1"], { state: "Queued", continueSubmit: true }],
    ["a snapshot the runner refused fails with its reason and says nothing ran", ["exists=1", "started=1", "exit_code=86", "reason=SnapshotCorrupt", "detail=SnapshotCorrupt: data.bin: stored content has sha256 1…"],
      { state: "Failed", reason: "SnapshotCorrupt", message: expect.stringMatching(/nothing ran.*data\.bin/) }],
    ["a store the VM cannot reach is SnapshotUnavailable", ["exists=1", "started=1", "exit_code=87", "reason=SnapshotUnavailable", "detail=SnapshotUnavailable: reading the manifest: ConnectionRefusedError"],
      { state: "Failed", reason: "SnapshotUnavailable", message: expect.stringContaining("reading the manifest") }],
    ["a canceled queued attempt is Canceled", ["exists=1", "queued=1", "canceled=1"], { state: "Failed", reason: "Canceled" }],
  ])("%s", (_name, lines, want) => {
    expect(decideObservation(status(lines), "/w/runs/u/0")).toMatchObject({ ...want, links: { remoteRunDir: "/w/runs/u/0" } });
  });
});

describe("quantityToBytes", () => {
  it.each([["2Gi", 2 * 2 ** 30], ["96Mi", 96 * 2 ** 20], ["500M", 5e8], ["1e9", 1e9], ["1.5Ki", 1536], [1024, 1024]] as const)(
    "reads %s as %d bytes", (q, want) => { expect(quantityToBytes(q)).toBe(want); },
  );
  it("refuses milli-bytes and words", () => {
    expect(() => quantityToBytes("96m")).toThrow(/quantity/);
    expect(() => quantityToBytes("lots")).toThrow(/quantity/);
  });
});

describe("renderRun", () => {
  const sub = (config: object, extra: Partial<Attempt> = {}): Attempt => ({
    run: { metadata: { uid: "u-1" }, spec: {} }, target: {}, number: 2, handle: undefined, runId: "r", environmentHash: "h1",
    snapshot: { digest: "sha256:abc", files: [], totalBytes: 0 }, argv: ["train.py", "--x"], interpreterNeeded: true,
    config: { computeTargetRef: { name: "t" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...config },
    ...extra,
  }) as unknown as Attempt;
  const fields = (buf: Buffer): string[] => buf.toString("utf8").split("\0").slice(0, -1);
  const paths = (runDir = "/w/runs/u-1/2") => ({ workDir: "/w", runDir, runner: "/w/bin/aml_runner-abc.py" });

  it("writes argv and env as NUL-separated lists, never as shell text", () => {
    const r = renderRun(sub({ environmentVariables: { A: "x; rm -rf ~" } }), paths(), false);
    expect(r.mode).toBe("user");
    expect(fields(r.files.argv!)).toEqual(["train.py", "--x"]);
    expect(fields(r.files.environ!)).toContain("A=x; rm -rf ~");
  });

  it("runs through the data-plane runner, with ./outputs of the snapshot directory as AML_OUTPUT_DIR", () => {
    const plain = renderRun(sub({}), paths(), false);
    expect(fields(plain.files.launch!)).toEqual(expect.arrayContaining(["runner", "/w/bin/aml_runner-abc.py"]));
    expect(fields(plain.files.environ!)).toContain("AML_OUTPUT_DIR=/w/runs/u-1/2/src/outputs");
    const docker = renderRun(sub({ docker: { enabled: true, gpu: false, baseImage: "img" } }), paths(), false);
    expect(fields(docker.files.environ!)).toContain("AML_OUTPUT_DIR=/workspace/outputs");
    // No secret in any rendered file: the store's SAS URLs travel in store.env, written by the executor.
    expect(Object.values(plain.files).map(String).join("")).not.toMatch(/sig=|AML_SNAPSHOT_URL/);
  });

  it.each([
    ["venv for pip packages", { environment: { systemManaged: { pipPackages: ["six"] } } }, false, "venv"],
    ["conda when the VM has it and a python version is asked", { environment: { systemManaged: { pythonVersion: "3.10" } } }, true, "conda"],
    ["venv when no conda and only pip packages", { environment: { systemManaged: { pythonVersion: "3.10", pipPackages: ["six"] } } }, false, "venv"],
    ["docker when enabled", { docker: { enabled: true, gpu: true, baseImage: "img" } }, false, "docker"],
  ])("picks %s", (_name, config, conda, mode) => {
    expect(renderRun(sub(config), paths(), conda).mode).toBe(mode);
  });

  it.each([
    ["an invalid env var name", { environmentVariables: { "A-B": "1" } }, /not valid/],
    ["a pip package with a newline", { environment: { systemManaged: { pipPackages: ["six\n--index-url x"] } } }, /line break/],
    ["conda packages without conda", { environment: { systemManaged: { condaPackages: ["numpy"] } } }, /need conda/],
    ["docker with a system-managed env", { docker: { enabled: true, gpu: false, baseImage: "i" }, environment: { systemManaged: {} } }, /userManaged/],
    ["docker without an image", { docker: { enabled: true, gpu: false } }, /baseImage/],
  ])("rejects %s", (_name, config, message) => {
    expect(() => renderRun(sub(config), paths("/w/r"), false)).toThrow(message);
  });

  it("turns digests into file names and refuses anything else", () => {
    expect(safeName("sha256:ab12", "d")).toBe("sha256-ab12");
    expect(() => safeName("../x", "d")).toThrow();
  });
});
