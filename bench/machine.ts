// The machine the numbers were measured on.
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";
import { kubectl } from "../test/cluster/kubectl.js";

export interface Machine {
  nproc: number;
  memoryGiB: number;
  cpuModel: string;
  kernel: string;
  node: string;
  kubernetes: string;
  date: string;
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const version = JSON.parse((await kubectl(["version", "-o", "json"])).stdout) as { serverVersion?: { gitVersion?: string } };
  return {
    nproc: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    kernel: release(),
    node: process.version,
    kubernetes: version.serverVersion?.gitVersion ?? "unknown",
    date: new Date().toISOString(),
  };
}
