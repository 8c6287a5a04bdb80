/**
 * The run's snapshot as an Azure ML command job's code, the way Azure ML v2 ships code: the files
 * go to the workspace's default blob datastore under `LocalUpload/<digest>/` and a code version
 * names that folder (`codeUri`, a plain storage URL: never a SAS). Azure ML downloads it into the
 * job's working directory. Next to it, outside the code folder so the working directory holds
 * the user's files and nothing else, the operator keeps two files the job takes as `uri_file`
 * inputs: the runner (`amlcompute/runner/<sha256>/aml_runner.py`) and the snapshot's manifest
 * (`amlcompute/manifests/<digest>.json`). The command starts the runner in `adopt` mode, which
 * verifies the working directory against the manifest — exactly its files, byte for byte — sets
 * the executable bits and only then runs the user's command (exit 86 and nothing run otherwise).
 * No SAS URL goes into the job: its properties are readable by everyone with workspace access,
 * and Azure ML reads its datastore with the datastore's own credentials.
 */
import type { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { mapLimit } from "../../data-plane/concurrency.js";
import { StoreError, StoreReason } from "../../data-plane/errors.js";
import { hexOfDigest, sha256Of, type Manifest } from "../../data-plane/manifest.js";
import { RunnerEnv, runnerScript, RUNNER_FILE } from "../../data-plane/runner/index.js";
import type { BlobStore } from "../../data-plane/store.js";
import { TerminalError } from "../../runtime/errors.js";
import { withExitMarker } from "../shared/exit-marker.js";
import { renderCommand } from "../shared/shell-quote.js";

/** Files copied at once from the run store into the datastore. */
const COPY_CONCURRENCY = 8;

export const codeFolder = (digest: string): string => `LocalUpload/${hexOfDigest(digest)}`;
const manifestPath = (digest: string): string => `amlcompute/manifests/${hexOfDigest(digest)}.json`;
const runnerPath = (): string => `amlcompute/runner/${sha256Of(runnerScript().text)}/${RUNNER_FILE}`;

/** A workspace datastore as the executor opened it: its name (for azureml:// URIs) and container. */
export interface Datastore {
  readonly name: string;
  readonly container: ContainerClient;
}

/** The job inputs that carry the runner and the manifest, as Azure ML `uri_file` inputs (downloaded before the command starts). */
export function runnerInputs(datastore: string, digest: string): Record<string, { jobInputType: "uri_file"; uri: string; mode: "Download" }> {
  const uri = (path: string) => `azureml://datastores/${datastore}/paths/${path}`;
  return {
    aml_runner: { jobInputType: "uri_file", uri: uri(runnerPath()), mode: "Download" },
    aml_manifest: { jobInputType: "uri_file", uri: uri(manifestPath(digest)), mode: "Download" },
  };
}

/**
 * The job's command: the runner adopts the working directory Azure ML wrote, then runs `argv` in
 * it; the last log line carries the exit code (Azure ML reports none).
 */
export function adoptCommand(python: string, argv: readonly string[]): string {
  return withExitMarker(`${renderCommand([python])} \${{inputs.aml_runner}} adopt --manifest \${{inputs.aml_manifest}} --workdir . -- ${renderCommand(argv)}`);
}

/** The runner's environment in the job: the digest only (the manifest must hash to it). */
export const adoptEnvironment = (digest: string): Record<string, string> => ({ [RunnerEnv.snapshotDigest]: digest });

/** Uploads `data` to `name` unless a blob of that name exists (content-addressed names: an existing one is right). */
async function putOnce(ds: Datastore, name: string, data: Buffer): Promise<void> {
  const blob = ds.container.getBlockBlobClient(name);
  if (await blob.exists()) return;
  await blob.uploadData(data);
}

/** The runner and the manifest in the datastore; cheap when they are there (one HEAD each). */
export async function ensureRunnerInputs(store: BlobStore, digest: string, ds: Datastore): Promise<void> {
  await putOnce(ds, runnerPath(), Buffer.from(runnerScript().text, "utf8"));
  const name = manifestPath(digest);
  if (await ds.container.getBlockBlobClient(name).exists()) return;
  await ds.container.getBlockBlobClient(name).uploadData(await manifestBytes(store, digest));
}

async function manifestBytes(store: BlobStore, digest: string): Promise<Buffer> {
  const bytes = await store.getManifestBytes(digest);
  if (!bytes) throw new TerminalError(`snapshot ${digest} is not in the store`, StoreReason.SnapshotNotFound);
  return bytes;
}

/**
 * Copies every file of the snapshot from the run store into the code folder, streamed (a file is
 * never held whole in memory), with the mode as blob metadata. Returns the manifest. The bytes are
 * not re-hashed here: the runner's adopt step checks every one on the node before anything runs.
 */
export async function uploadCode(store: BlobStore, digest: string, ds: Datastore): Promise<Manifest> {
  const manifest = await store.getManifest(digest);
  if (!manifest) throw new TerminalError(`snapshot ${digest} is not in the store`, StoreReason.SnapshotNotFound);
  const folder = codeFolder(digest);
  await mapLimit(manifest.files, COPY_CONCURRENCY, async (f) => {
    const blob = ds.container.getBlockBlobClient(`${folder}/${f.path}`);
    const options = { metadata: { mode: f.mode.toString(8) } };
    if (f.size === 0) {
      await blob.upload("", 0, options);
      return;
    }
    let body: NodeJS.ReadableStream;
    try {
      body = await store.objectStream(f.sha256);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if ((err as { statusCode?: number }).statusCode === 404) {
        throw new TerminalError(`object of ${f.path} (sha256 ${f.sha256.slice(0, 12)}…) is missing from the store`, StoreReason.SnapshotCorrupt);
      }
      throw err;
    }
    await blob.uploadStream(body as Readable, 4 * 1024 * 1024, 2, options);
  });
  return manifest;
}
