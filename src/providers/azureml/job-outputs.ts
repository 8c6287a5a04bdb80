/**
 * An Azure ML command job's outputs into the run store. Azure ML itself keeps what the script left
 * in `./outputs` — whatever the outcome, cancel included — in the workspace's artifact store under
 * `ExperimentRun/dcid.<job>/outputs/`, and its stdout/stderr under `user_logs/` (`std_log.txt`, or
 * `std_log_process_NN.txt` per process of a distributed job). When the attempt has ended the
 * operator copies them into the attempt's prefix of the run store — `outputs/…`,
 * `logs/output.log` (rank 0, or the only process), `logs/output-rank-<n>.log` — and writes
 * `result.json` last, so `status.outputs` and `kubectl aml download` work as for every target.
 *
 * The copy streams through the operator (download from the datastore with the credentials the
 * workspace gives, upload with the run store's own): it works whatever the two accounts'
 * credentials are (key, SAS or Entra identity) and whether or not one account can reach the other,
 * and neither service is handed a SAS of the other. One call copies at most COPY_BUDGET_BYTES and
 * says whether it is done; the next call skips what is already there (same name and size), so a
 * large output never holds one reconcile for long and a crash in between loses nothing.
 */
import type { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import type { AttemptStorage } from "../../data-plane/data-plane.js";
import { LOG_BLOB, OUTPUTS_DIR, RESULT_BLOB } from "../../data-plane/layout.js";
import type { RunResult } from "../../data-plane/result.js";
import { mapLimit } from "../../data-plane/concurrency.js";

const COPY_BUDGET_BYTES = 256 * 1024 * 1024;
const COPY_CONCURRENCY = 4;

/** How the job ended, as observe saw it (status, the exit marker, a runner refusal). */
export interface JobEnd {
  readonly jobName: string;
  /** Azure ML job status: Completed, Failed, Canceled. */
  readonly status: string;
  readonly exitCode?: number;
  /** The runner refused the working directory (nothing ran). */
  readonly refusal?: { reason: string; message: string };
}

interface SourceBlob { readonly name: string; readonly size: number; readonly dest: string }

const jobRoot = (job: string): string => `ExperimentRun/dcid.${job}/`;

/** Rank of a per-process log name (std_log_process_03.txt → 3); the plain std_log.txt is rank 0. */
function logDest(name: string): string | undefined {
  if (name === "std_log.txt") return LOG_BLOB;
  const m = /^std_log_process_(\d+)\.txt$/.exec(name);
  if (!m) return undefined;
  const rank = Number(m[1]);
  return rank === 0 ? LOG_BLOB : `logs/output-rank-${rank}.log`;
}

async function sourceBlobs(artifacts: ContainerClient, job: string, prefix: string): Promise<{ outputs: SourceBlob[]; logs: SourceBlob[] }> {
  const root = jobRoot(job);
  const outputs: SourceBlob[] = [];
  const logs: SourceBlob[] = [];
  for await (const item of artifacts.listBlobsFlat({ prefix: root })) {
    const rel = item.name.slice(root.length);
    const size = item.properties.contentLength ?? 0;
    if (rel.startsWith(`${OUTPUTS_DIR}/`)) {
      outputs.push({ name: item.name, size, dest: `${prefix}${rel}` });
    } else if (rel.startsWith("user_logs/")) {
      const dest = logDest(rel.slice("user_logs/".length));
      if (dest) logs.push({ name: item.name, size, dest: `${prefix}${dest}` });
    }
  }
  return { outputs, logs };
}

function resultOf(end: JobEnd, digest: string, outputs: readonly SourceBlob[], log: SourceBlob | undefined): RunResult {
  const executed = !end.refusal;
  const reason = end.refusal?.reason ?? (end.status === "Completed" ? "Completed" : end.status === "Canceled" ? "Canceled" : "ScriptFailed");
  return {
    version: 1, reason, executed,
    ...(end.refusal ? { message: end.refusal.message } : {}),
    ...(end.exitCode !== undefined && executed ? { exitCode: end.exitCode } : {}),
    snapshot: { digest, verified: executed },
    outputs: { files: outputs.length, bytes: outputs.reduce((n, b) => n + b.size, 0), skipped: [] },
    ...(log ? { log: { blob: LOG_BLOB, bytes: log.size } } : {}),
    finishedAt: new Date().toISOString(),
  };
}

/**
 * Copies the job's outputs and logs into the attempt's prefix, then result.json. Idempotent;
 * `done: false` while more than one call's budget remains to copy.
 */
export async function collectJobOutputs(artifacts: ContainerClient, storage: AttemptStorage, end: JobEnd): Promise<{ done: boolean; files: number; bytes: number }> {
  const { store, prefix } = storage;
  const resultName = `${prefix}${RESULT_BLOB}`;
  const { outputs, logs } = await sourceBlobs(artifacts, end.jobName, prefix);
  const totals = { files: outputs.length, bytes: outputs.reduce((n, b) => n + b.size, 0) };
  if (await store.readRunBlob(resultName)) return { done: true, ...totals };
  const present = new Map<string, number>();
  for await (const b of store.listRunBlobs(prefix)) present.set(b.name, b.size);
  const todo = [...outputs, ...logs].filter((b) => present.get(b.dest) !== b.size);
  let budget = COPY_BUDGET_BYTES;
  const now = todo.filter((b) => {
    if (budget <= 0) return false;
    budget -= b.size;
    return true;
  });
  await mapLimit(now, COPY_CONCURRENCY, async (b) => {
    const res = await artifacts.getBlobClient(b.name).download();
    if (!res.readableStreamBody) throw new Error(`the artifact store returned no body for ${b.name}`);
    await store.writeRunBlobStream(b.dest, res.readableStreamBody as Readable);
  });
  if (now.length < todo.length) return { done: false, ...totals };
  const log = logs.find((b) => b.dest === `${prefix}${LOG_BLOB}`);
  await store.writeRunBlob(resultName, Buffer.from(JSON.stringify(resultOf(end, storage.digest, outputs, log)), "utf8"));
  return { done: true, ...totals };
}
