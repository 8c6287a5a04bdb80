// git sources against a real `git http-backend` on loopback: branch, tag and commit revisions,
// subPath, exec bits, non-ASCII names, credentials from the Secret, and refusals that name the path.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Azurite } from "../../azure-emulator/azurite.js";
import { snapshotGitSource } from "../../../src/data-plane/git-source.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { git, startGitServer, type GitServer } from "../../support/git-http.js";
import { storeOnAzurite } from "./support.js";

const AUTH = { username: "ci", password: "s3cret-token" };

function makeRepo(server: GitServer, name: string): { first: string; second: string } {
  const work = mkdtempSync(join(tmpdir(), "git-work-"));
  git(work, "init", "-q", "-b", "main");
  mkdirSync(join(work, "src/pkg/deep"), { recursive: true });
  writeFileSync(join(work, "src/train.py"), "print('from git')\n");
  writeFileSync(join(work, "src/pkg/deep/ñ.txt"), "non-ascii\n");
  writeFileSync(join(work, "src/run.sh"), "#!/bin/sh\n");
  chmodSync(join(work, "src/run.sh"), 0o755);
  writeFileSync(join(work, "README.md"), "top\n");
  git(work, "add", "-A");
  git(work, "commit", "-qm", "one");
  git(work, "tag", "-a", "v1", "-m", "v1");
  const first = git(work, "rev-parse", "HEAD");
  writeFileSync(join(work, "src/train.py"), "print('second')\n");
  git(work, "commit", "-qam", "two");
  const second = git(work, "rev-parse", "HEAD");
  git(server.root, "clone", "-q", "--bare", work, `${name}.git`);
  return { first, second };
}

describe("git sources from git http-backend", () => {
  let az: Azurite;
  let store: BlobStore;
  let server: GitServer;
  let commits: { first: string; second: string };

  beforeAll(async () => {
    ({ az, store } = await storeOnAzurite());
    server = await startGitServer(AUTH);
    commits = makeRepo(server, "repo");
  });
  afterAll(async () => {
    await server?.close();
    await az?.close();
  });

  it("resolves a branch to its commit and stores the tree with modes and non-ASCII names", async () => {
    const snap = await snapshotGitSource(store, { url: server.url("repo"), revision: "main" }, AUTH);
    expect(snap.commit).toBe(commits.second);
    expect(snap.files).toBe(4);
    const manifest = await store.getManifest(snap.digest);
    expect(manifest?.files.map((f) => [f.path, f.mode])).toEqual([
      ["README.md", 0o644], ["src/pkg/deep/ñ.txt", 0o644], ["src/run.sh", 0o755], ["src/train.py", 0o644],
    ]);
  });

  it("resolves an annotated tag and a commit id, and takes a subPath as the root", async () => {
    const tag = await snapshotGitSource(store, { url: server.url("repo"), revision: "v1", subPath: "src" }, AUTH);
    expect(tag.commit).toBe(commits.first);
    const byId = await snapshotGitSource(store, { url: server.url("repo"), revision: commits.first, subPath: "src/" }, AUTH);
    expect(byId).toMatchObject({ commit: commits.first, digest: tag.digest, files: 3 });
    expect((await store.getManifest(tag.digest))?.files.map((f) => f.path)).toEqual(["pkg/deep/ñ.txt", "run.sh", "train.py"]);
  });

  it("fails with a clear reason for wrong credentials, an unknown revision and a symlink", async () => {
    await expect(snapshotGitSource(store, { url: server.url("repo"), revision: "main" }, { username: "ci", password: "wrong" }))
      .rejects.toMatchObject({ reason: "GitSourceFailed", message: expect.stringContaining("refused the credentials") });
    await expect(snapshotGitSource(store, { url: server.url("repo"), revision: "nope" }, AUTH))
      .rejects.toThrow(/not a branch, tag or full commit id/);
    const work = mkdtempSync(join(tmpdir(), "git-link-"));
    git(work, "init", "-q", "-b", "main");
    writeFileSync(join(work, "a.txt"), "a");
    git(work, "add", "a.txt");
    git(work, "commit", "-qm", "a");
    git(work, "-c", "core.symlinks=true", "update-index", "--add", "--cacheinfo", "120000", git(work, "hash-object", "-w", "a.txt"), "link");
    git(work, "commit", "-qm", "link");
    git(server.root, "clone", "-q", "--bare", work, "links.git");
    await expect(snapshotGitSource(store, { url: server.url("links"), revision: "main" }, AUTH)).rejects.toThrow(/link is a symbolic link/);
  });
});
