import { readdirSync, readFileSync } from "node:fs";

/** Process ids of `pid`'s descendants (from /proc: parent pid is field 4 of /proc/<pid>/stat). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

/**
 * Stops a task the way a node agent does when it ends a task: every process the task started, new
 * sessions and process groups included, at once with SIGKILL. Neither Batch's Task - Terminate nor
 * Databricks' runs/cancel documents a signal or a grace period, so the emulators give none: what
 * a canceled run keeps is what it uploaded before (the runner's periodic outputs upload).
 */
export function killTree(pid: number | undefined): void {
  if (!pid) return;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
