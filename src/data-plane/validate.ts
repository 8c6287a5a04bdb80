/**
 * What a manifest may hold. The same rules run where a manifest is built (plugin, operator) and
 * where one is read back from the store, because the store is not trusted to hold only what we
 * wrote: a path that climbs out of the working directory must never reach a target.
 */
import type { ManifestEntry } from "./manifest.js";

const HEX64 = /^[0-9a-f]{64}$/;

/** Why one path cannot be in a snapshot, or undefined when it can. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return "an empty path";
  if (path.startsWith("/")) return `absolute path ${JSON.stringify(path)}`;
  if (/^[A-Za-z]:/.test(path)) return `drive-qualified path ${JSON.stringify(path)}`;
  if (path.includes("\\")) return `backslash in path ${JSON.stringify(path)} (paths use "/")`;
  if (path.includes("\0")) return `NUL byte in path ${JSON.stringify(path)}`;
  for (const segment of path.split("/")) {
    if (segment === "..") return `path ${JSON.stringify(path)} climbs out of the source directory ("..")`;
    if (segment === "." || segment === "") return `path ${JSON.stringify(path)} has an empty or "." segment`;
    // No file system of a target takes a longer name: the file could never be written there.
    if (Buffer.byteLength(segment, "utf8") > 255) return `path ${JSON.stringify(path.slice(0, 60))}… has a name longer than 255 bytes`;
  }
  if (Buffer.byteLength(path, "utf8") > 1024) return `path ${JSON.stringify(path.slice(0, 60))}… is longer than 1024 bytes`;
  return undefined;
}

/** All problems of a file list: bad paths, duplicates, a file also used as a directory, bad fields. */
export function manifestProblems(files: readonly ManifestEntry[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    const p = pathProblem(f.path);
    if (p) problems.push(p);
    if (seen.has(f.path)) problems.push(`duplicate path ${JSON.stringify(f.path)}`);
    seen.add(f.path);
    if (!HEX64.test(f.sha256)) problems.push(`${JSON.stringify(f.path)} has no valid sha256`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) problems.push(`${JSON.stringify(f.path)} has an invalid size`);
    if (f.mode !== 0o644 && f.mode !== 0o755) problems.push(`${JSON.stringify(f.path)} has mode ${f.mode.toString(8)} (0644 or 0755 only)`);
  }
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (seen.has(dir)) {
        problems.push(`${JSON.stringify(dir)} is both a file and the directory of ${JSON.stringify(f.path)}`);
        break;
      }
    }
  }
  return problems;
}

export class ManifestError extends Error {
  override readonly name = "ManifestError";
}

export function assertValidManifest(files: readonly ManifestEntry[]): void {
  const problems = manifestProblems(files);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).join("; ");
  throw new ManifestError(`invalid snapshot: ${shown}${problems.length > 5 ? `; and ${problems.length - 5} more` : ""}`);
}
