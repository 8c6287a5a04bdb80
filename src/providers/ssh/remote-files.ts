import { randomBytes } from "node:crypto";
import type { SshSession } from "./session.js";

/** Write to a temporary name, then rename: readers never see a partial file. */
export async function writeAtomically(session: SshSession, path: string, data: Buffer | string, mode?: number): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  await session.writeFile(tmp, data, mode);
  await session.rename(tmp, path);
}
