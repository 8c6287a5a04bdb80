// A machine's first `make cluster-up` imports the images into an empty containerd store; that path
// once failed although the import had worked (a `ctr images ls | grep -q` under pipefail lost a
// SIGPIPE race). `cluster.sh check-import` repeats it against a throwaway, empty containerd
// namespace on every `make test`, and checks the SIGPIPE-safe line test with a long producer.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, requireCluster } from "./kubectl.js";

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

describe("local cluster: cold image import", () => {
  it("imports an image into an empty containerd namespace and finds it there", async () => {
    await requireCluster();
    const r = await run(join(repoRoot, "hack/cluster/cluster.sh"), ["check-import"]);
    expect(r.out).toContain("image import into an empty store: ok");
    expect(r.code).toBe(0);
  });
});
