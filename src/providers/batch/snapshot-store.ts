import {
  BlobSASPermissions, BlobServiceClient, generateBlobSASQueryParameters, StorageSharedKeyCredential,
} from "@azure/storage-blob";
import type { Snapshot } from "../types.js";

/** A Batch ResourceFile (REST shape): downloaded onto the node before the task starts. */
export interface ResourceFile {
  readonly httpUrl: string;
  readonly filePath: string;
  readonly fileMode?: string;
}

/** Directory under the task's working directory that holds the snapshot. */
export const SOURCE_DIR = "src";

/**
 * Puts a snapshot into the Batch account's auto-storage and returns one read-only SAS URL per
 * file. Blobs are keyed by the snapshot digest, so attempts and runs of the same source share
 * them (content-addressed). SAS URLs end up in the task definition inside Batch only, never in
 * Kubernetes status.
 */
export async function uploadSnapshot(opts: {
  blobEndpoint: string; accountName: string; accountKey: string; container: string; snapshot: Snapshot; now: Date; validDays?: number;
}): Promise<ResourceFile[]> {
  const key = new StorageSharedKeyCredential(opts.accountName, opts.accountKey);
  const service = new BlobServiceClient(opts.blobEndpoint, key, { retryOptions: { maxTries: 1 } });
  const container = service.getContainerClient(opts.container);
  await container.createIfNotExists();
  const digest = opts.snapshot.digest.replace(/^sha256:/, "");
  const expiresOn = new Date(opts.now.getTime() + (opts.validDays ?? 7) * 86_400_000);
  const files: ResourceFile[] = [];
  for (const f of opts.snapshot.files) {
    const blobName = `${digest}/${f.path}`;
    const blob = container.getBlockBlobClient(blobName);
    const body = Buffer.from(f.content, "utf8");
    await blob.upload(body, body.length);
    const sas = generateBlobSASQueryParameters({
      containerName: opts.container, blobName, permissions: BlobSASPermissions.parse("r"),
      startsOn: new Date(opts.now.getTime() - 5 * 60_000), expiresOn,
    }, key).toString();
    files.push({
      httpUrl: `${blob.url}?${sas}`,
      filePath: `${SOURCE_DIR}/${f.path}`,
      ...(f.mode !== undefined ? { fileMode: (f.mode & 0o777).toString(8).padStart(4, "0") } : {}),
    });
  }
  return files;
}
