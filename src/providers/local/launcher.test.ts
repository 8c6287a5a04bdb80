import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { launchedArgv } from "./launcher.js";

/** Runs the launcher for real with `python3`, as the pod would. */
function launch(child: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...args] = launchedArgv("python3", ["python3", "-c", child]);
  const r = spawnSync(cmd!, args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tfConfig = JSON.stringify({ cluster: { worker: ["a:2222", "a:2223", "b:2222", "b:2223"] }, task: { type: "worker", index: 0 } });

describe("the per-pod launcher", () => {
  it("starts one process per slot with RANK, LOCAL_RANK and TF_CONFIG's task index of that slot", () => {
    const child = "import json, os\nprint('rank', os.environ['RANK'], 'local', os.environ['LOCAL_RANK'], 'task', json.loads(os.environ['TF_CONFIG'])['task']['index'], flush=True)";
    const r = launch(child, { NODE_RANK: "1", LOCAL_WORLD_SIZE: "2", WORLD_SIZE: "4", TF_CONFIG: tfConfig });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual(["rank 2 local 0 task 2", "rank 3 local 1 task 3"]);
    expect(r.stderr).toContain("node 1 starts ranks 2..3 of 4");
  });

  it("exits with the first failing slot's code and stops the other slots", () => {
    const child = [
      "import os, signal, sys, time",
      "if os.environ['LOCAL_RANK'] == '1':",
      "    time.sleep(0.5); sys.exit(3)",
      "signal.signal(signal.SIGTERM, lambda *_: (print('slot 0 stopped', flush=True), sys.exit(143)))",
      "time.sleep(60)",
    ].join("\n");
    const r = launch(child, { NODE_RANK: "0", LOCAL_WORLD_SIZE: "2" });
    expect(r.status).toBe(3);
    expect(r.stdout).toContain("slot 0 stopped");
    expect(r.stderr).toContain("rank 1 exited with code 3");
  });
});
