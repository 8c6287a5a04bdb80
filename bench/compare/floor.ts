// The memory floor: a Node process that has only imported @kubernetes/client-node (its generated
// API models dominate). The operator's own cost is what it holds above this.
import { spawn } from "node:child_process";
import { repoRoot } from "../../test/cluster/kubectl.js";
import { rssMiB } from "./process-meter.js";

export async function measureFloor(settleMs = 3_000): Promise<{ clientNodeRssMiB: number; bareNodeRssMiB: number }> {
  const measure = async (script: string): Promise<number> => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot, stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, settleMs));
      return rssMiB(child.pid as number);
    } finally {
      child.kill("SIGKILL");
    }
  };
  return {
    clientNodeRssMiB: await measure("await import('@kubernetes/client-node'); setInterval(() => {}, 1 << 30);"),
    bareNodeRssMiB: await measure("setInterval(() => {}, 1 << 30);"),
  };
}
