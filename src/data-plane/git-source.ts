/**
 * A git source as a snapshot: resolve the revision to a commit on the server, fetch that commit
 * (shallow for a branch or tag; a commit id needs the history that holds it), read its tree and
 * store it like any other tree. isomorphic-git speaks git's smart HTTP protocol in-process, so
 * the operator image needs no git binary.
 */
import * as fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerminalError } from "../runtime/errors.js";
import { DEFAULT_LIMITS, limitProblem, type Limits } from "./limits.js";
import type { BlobStore } from "./store.js";
import { entriesOfBuffers, uploadSnapshot, SnapshotRejected, type SnapshotUpload } from "./upload.js";

export interface GitSourceSpec { readonly url: string; readonly revision: string; readonly subPath?: string }
export interface GitAuth { readonly username?: string; readonly password?: string }

export interface GitSnapshot extends SnapshotUpload { readonly commit: string }

/** Not fixable by retrying: unknown revision, a symlink in the tree, a bad subPath, refused credentials. */
export class GitSourceError extends TerminalError {
  constructor(message: string) {
    super(message, "GitSourceFailed");
  }
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/** isomorphic-git, imported with the first git source: an operator whose runs never use one does not hold it. */
let gitModules: Promise<{ git: typeof import("isomorphic-git").default; http: typeof import("isomorphic-git/http/node").default }> | undefined;
const loadGit = () =>
  (gitModules ??= Promise.all([import("isomorphic-git"), import("isomorphic-git/http/node")]).then(([g, h]) => ({ git: g.default, http: h.default })));

/** The server's ref a revision names (branch, tag, full ref or HEAD), peeled to its commit. */
async function resolveOnServer(url: string, revision: string, onAuth: () => GitAuth): Promise<{ ref?: string; oid: string }> {
  if (FULL_SHA.test(revision)) return { oid: revision };
  const { git, http } = await loadGit();
  const refs = await git.listServerRefs({ http, url, onAuth, peelTags: true, symrefs: true, protocolVersion: 1 });
  for (const name of [revision, `refs/heads/${revision}`, `refs/tags/${revision}`]) {
    const found = refs.find((r) => r.ref === name);
    if (found) return { ref: found.ref === "HEAD" ? found.target ?? "HEAD" : found.ref, oid: found.peeled ?? found.oid };
  }
  throw new GitSourceError(`revision ${JSON.stringify(revision)} is not a branch, tag or full commit id of ${redact(url)}`);
}

/** The URL without credentials someone may have written into it. */
export const redact = (url: string): string => url.replace(/\/\/[^/@]*@/, "//");

interface TreeFile { path: string; mode: number; content: Buffer }

async function readTree(gitdir: string, oid: string, subPath: string | undefined, limits: Limits): Promise<TreeFile[]> {
  const root = subPath ? subPath.replace(/^\/+|\/+$/g, "") : "";
  const files: TreeFile[] = [];
  let bytes = 0;
  const { git } = await loadGit();
  await git.walk({
    fs, gitdir, trees: [git.TREE({ ref: oid })],
    map: async (path, entries) => {
      const entry = entries?.[0];
      if (!entry || path === ".") return true;
      if (root && !(path === root || path.startsWith(`${root}/`) || root.startsWith(`${path}/`))) return null;
      const type = await entry.type();
      if (type === "tree") return true;
      if (type === "commit") throw new GitSourceError(`${path} is a git submodule; submodules are not fetched (vendor the code or use another source)`);
      const mode = await entry.mode();
      if ((mode & 0o170000) === 0o120000) throw new GitSourceError(`${path} is a symbolic link; snapshots hold regular files only (replace the link by the file)`);
      if (root && !path.startsWith(`${root}/`)) return null;
      const content = Buffer.from((await entry.content()) ?? new Uint8Array());
      bytes += content.length;
      files.push({ path: root ? path.slice(root.length + 1) : path, mode, content });
      if (bytes > limits.maxBytes || files.length > limits.maxFiles) {
        throw new SnapshotRejected(limitProblem(files.map((f) => ({ path: f.path, size: f.content.length })), limits) ?? "source too large", "SourceTooLarge");
      }
      return true;
    },
  });
  if (root && files.length === 0) throw new GitSourceError(`subPath ${JSON.stringify(subPath)} holds no files at this commit`);
  return files;
}

/** Fetches `spec` and stores its tree; the result names the commit the revision resolved to. */
export async function snapshotGitSource(store: BlobStore, spec: GitSourceSpec, auth?: GitAuth, limits: Limits = DEFAULT_LIMITS): Promise<GitSnapshot> {
  const gitdir = await mkdtemp(join(tmpdir(), "aml-git-"));
  const onAuth = (): GitAuth => auth ?? {};
  const { git, http } = await loadGit();
  try {
    await git.init({ fs, gitdir, bare: true });
    await git.addRemote({ fs, gitdir, remote: "origin", url: spec.url });
    const target = await resolveOnServer(spec.url, spec.revision, onAuth).catch(rethrow(spec.url));
    if (target.ref) {
      await git.fetch({ fs, http, gitdir, remote: "origin", remoteRef: target.ref, ref: target.ref, singleBranch: true, depth: 1, tags: false, onAuth }).catch(rethrow(spec.url));
    } else {
      await git.fetch({ fs, http, gitdir, remote: "origin", singleBranch: false, tags: true, onAuth }).catch(rethrow(spec.url));
    }
    const commit = await git.readCommit({ fs, gitdir, oid: target.oid }).catch(() => {
      throw new GitSourceError(`commit ${target.oid} is not reachable from any branch or tag of ${redact(spec.url)}`);
    });
    const files = await readTree(gitdir, commit.oid, spec.subPath, limits);
    const uploaded = await uploadSnapshot(store, entriesOfBuffers(files), { limits });
    return { ...uploaded, commit: commit.oid };
  } finally {
    await rm(gitdir, { recursive: true, force: true });
  }
}

/** Git/HTTP failures become terminal (4xx: wrong URL or credentials) or pass on as network errors. */
function rethrow(url: string) {
  return (err: unknown): never => {
    if (err instanceof TerminalError) throw err;
    const e = err as { code?: string; data?: { statusCode?: number }; message?: string };
    const status = e.data?.statusCode;
    if (status === 401 || status === 403) throw new GitSourceError(`${redact(url)} refused the credentials (HTTP ${status}); check source.git.secretRef`);
    if (status && status >= 400 && status < 500) throw new GitSourceError(`${redact(url)} answered HTTP ${status}: not a git repository, or no access`);
    if (e.code === "NotFoundError") throw new GitSourceError(`${redact(url)}: ${e.message ?? "not found"}`);
    throw err;
  };
}
