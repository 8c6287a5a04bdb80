/**
 * `kubectl aml download RUN [DIR]`: an attempt's outputs/**, logs/output.log and metrics.jsonl (the
 * history of every metric it reported), byte-exact, into DIR (default ./RUN). Blob names come from the store, so each is checked like a manifest path
 * before it becomes a file name: nothing is written outside DIR.
 */
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { attemptPrefix, LOG_BLOB, METRICS_BLOB, OUTPUTS_DIR } from "../data-plane/layout.js";
import { formatBytes } from "../data-plane/limits.js";
import type { BlobStore } from "../data-plane/store.js";
import { pathProblem } from "../data-plane/validate.js";
import { runIdentity } from "../data-plane/data-plane.js";
import type { Io } from "./commands.js";
import type { CliKube } from "./kube.js";

export interface DownloadOptions { name: string; dir?: string; attempt?: number }

export async function download(kube: CliKube, store: () => Promise<BlobStore>, o: DownloadOptions, io: Io): Promise<number> {
  const run = await kube.getRun(o.name);
  const attempt = o.attempt ?? run.status?.outputs?.attempt ?? run.status?.attempts ?? 1;
  const prefix = attemptPrefix(runIdentity(run.metadata ?? {}), attempt);
  const dir = resolve(o.dir ?? o.name);
  const s = await store();
  let files = 0;
  let bytes = 0;
  for await (const blob of s.listRunBlobs(prefix)) {
    const rel = blob.name.slice(prefix.length);
    if (!(rel.startsWith(`${OUTPUTS_DIR}/`) || rel === LOG_BLOB || rel === METRICS_BLOB)) continue;
    const problem = pathProblem(rel);
    if (problem) {
      io.err.write(`skipping ${JSON.stringify(rel)}: ${problem}\n`);
      continue;
    }
    const file = join(dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    await s.downloadRunBlob(blob.name, file);
    files++;
    bytes += blob.size;
  }
  const phase = run.status?.phase ?? "Unknown";
  if (files === 0) {
    io.err.write(`trainingrun/${o.name} attempt ${attempt} has no outputs or log in the store yet (phase ${phase})\n`);
    return 1;
  }
  io.err.write(`downloaded ${files} files (${formatBytes(bytes)}) of attempt ${attempt} (phase ${phase}) to ${dir}\n`);
  return 0;
}
