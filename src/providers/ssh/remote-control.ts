import { TransientError } from "../../runtime/errors.js";
import { CONTROL_SCRIPT } from "./remote-scripts.js";
import { parseStatus, type RemoteStatus } from "./remote-job.js";
import type { SshSession } from "./session.js";
import { renderCommand } from "../shared/shell-quote.js";

export type ControlCommand = "prepare" | "admit" | "observe" | "status" | "cancel" | "cleanup" | "probe";

/**
 * Runs one control-script command: `bash -s -- <command> <args…>` with the script on stdin, so
 * nothing has to be installed on the VM and every argument is a quoted argv element.
 */
export async function runControl(session: SshSession, cmd: ControlCommand, args: readonly string[], timeoutMs = 30_000): Promise<RemoteStatus & { readonly raw: string }> {
  const res = await session.exec(renderCommand(["bash", "-s", "--", cmd, ...args]), { stdin: CONTROL_SCRIPT, timeoutMs });
  if (res.code !== 0) {
    const detail = (res.stderr || res.stdout).trim().slice(-500);
    throw new TransientError(`${session.label}: control command ${cmd} failed (exit ${res.code}): ${detail}`);
  }
  return { ...parseStatus(res.stdout), raw: res.stdout };
}

/** All values of a repeated key (e.g. python=3.11.2 on several lines). */
export function allValues(stdout: string, key: string): string[] {
  return stdout.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}
