/**
 * A progress bar for uploads that take more than a moment, on a terminal only: nothing for quick
 * or piped runs, so scripts and CI logs stay clean.
 */
import type { Writable } from "node:stream";
import { SingleBar } from "cli-progress";
import { formatBytes } from "../data-plane/limits.js";
import type { UploadProgress } from "../data-plane/upload.js";

const SHOW_AFTER_MS = 500;

export class UploadBar {
  private bar?: SingleBar;
  private readonly started = Date.now();

  constructor(private readonly stream: Writable & { isTTY?: boolean }) {}

  update(p: UploadProgress): void {
    if (!this.stream.isTTY || p.bytesToUpload === 0) return;
    if (!this.bar) {
      if (Date.now() - this.started < SHOW_AFTER_MS || p.bytesUploaded >= p.bytesToUpload) return;
      this.bar = new SingleBar({
        stream: this.stream as NodeJS.WriteStream, hideCursor: true, clearOnComplete: true,
        format: "uploading [{bar}] {percentage}% | {done} of {total} | {files}",
      });
      this.bar.start(p.bytesToUpload, 0, this.payload(p));
    }
    this.bar.update(p.bytesUploaded, this.payload(p));
  }

  private payload(p: UploadProgress): Record<string, string> {
    return { done: formatBytes(p.bytesUploaded), total: formatBytes(p.bytesToUpload), files: `${p.filesUploaded}/${p.filesToUpload} files` };
  }

  stop(): void {
    this.bar?.stop();
  }
}
