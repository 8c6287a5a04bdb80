// The run data plane end to end on the Local target: `kubectl aml submit` of any directory through
// the store, the pod's working directory exactly that tree and writable, outputs kept and
// downloaded byte-exact, incremental uploads, git sources from a real git http-backend, a tampered
// blob that stops the run before anything runs, outputs of a canceled run, deletion with the run.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNamespace, kubectl, requireCluster } from "../cluster/kubectl.js";
import { DataPlane } from "../../src/data-plane/data-plane.js";
import { dataPlaneEnv } from "../../src/data-plane/config.js";
import { DEFAULT_CONTAINERS, objectBlobName, runRootPrefix } from "../../src/data-plane/layout.js";
import { sha256Of } from "../../src/data-plane/manifest.js";
import type { BlobStore } from "../../src/data-plane/store.js";
import { entriesOfBuffers, uploadSnapshot } from "../../src/data-plane/upload.js";
import { git, startGitServer, type GitServer } from "../support/git-http.js";
import { apply, condition, getRun, localTarget, runConfiguration, waitForPhase } from "./support/aml.js";
import { sourceTree } from "../support/source-tree.js";
import { createdName, plugin } from "./support/plugin.js";
import { expectCanceledRunKeepsOutputs, expectTreeRunKept } from "./support/tree-runs.js";
import { endTest, installCrds, type RunningOperator, startOperator } from "./support/operator.js";
import { clusterServicesEnv } from "./support/services.js";

describe("run data plane on a Local target", () => {
  let ns = "";
  let op: RunningOperator | undefined;
  let store: BlobStore;
  let gitServer: GitServer | undefined;

  beforeAll(async () => {
    await requireCluster();
    await installCrds();
    ns = await createNamespace("e2e-dataplane");
    op = await startOperator({ WATCH_NAMESPACE: ns });
    await apply(localTarget(ns), runConfiguration(ns, "python"));
    store = await new DataPlane(dataPlaneEnv(clusterServicesEnv())).storeFor(ns, async () => undefined);
  });

  // The CRDs are cluster-wide and shared with every worktree's tests: apply ours before each test
  // so a test run from a branch with older CRDs cannot prune the fields these tests use.
  beforeEach(installCrds);

  afterAll(async () => {
    await endTest(op, ns);
    await gitServer?.close();
  });

  it("runs a submitted directory exactly as written, keeps outputs and downloads them byte-exact", async () => {
    const { submit } = await expectTreeRunKept(ns, "python");
    expect(submit.stderr).toMatch(/snapshot sha256:[0-9a-f]{64}: 8 files/);
    expect(submit.stderr).toContain("(1 ignored by .amlignore)");
  });

  it("uploads only the edited file on the next submit", async () => {
    const dir = sourceTree();
    const first = await plugin(["submit", dir, "--script", "train.py", "--config", "python", "-n", ns]);
    expect(first.stderr).toContain("uploaded 0 of 8 files");
    writeFileSync(join(dir, "a/b/c/deep.txt"), `edited ${Date.now()}\n`);
    const second = await plugin(["submit", dir, "--script", "train.py", "--config", "python", "-n", ns]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/uploaded 1 of 8 files \(\d+ B\); 7 already in the store/);
    const run = await waitForPhase(ns, createdName(second.stdout), ["Completed", "Failed"], 180_000);
    expect(run.status?.outputTail).toContain("digest ok");
  });

  it("runs a git source at a tag: the operator resolves the commit and shows it", async () => {
    gitServer = await startGitServer({ username: "ci", password: "token-1" });
    const work = mkdtempSync(join(tmpdir(), "dp-e2e-git-"));
    git(work, "init", "-q", "-b", "main");
    mkdirSync(join(work, "src/pkg"), { recursive: true });
    writeFileSync(join(work, "src/main.py"), "from pkg import v\nprint('from git', v.V)\n");
    writeFileSync(join(work, "src/pkg/__init__.py"), "");
    writeFileSync(join(work, "src/pkg/v.py"), "V = 'v1'\n");
    git(work, "add", "-A");
    git(work, "commit", "-qm", "v1");
    git(work, "tag", "v1");
    const commit = git(work, "rev-parse", "HEAD");
    git(gitServer.root, "clone", "-q", "--bare", work, "code.git");
    await apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "git-creds", namespace: ns }, stringData: { username: "ci", password: "token-1" } });
    await apply({
      apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun", metadata: { name: "from-git", namespace: ns },
      spec: { runConfigurationRef: { name: "python" }, script: "main.py", source: { git: { url: gitServer.url("code"), revision: "v1", subPath: "src", secretRef: { name: "git-creds" } } } },
    });
    const run = await waitForPhase(ns, "from-git", ["Completed", "Failed"], 180_000);
    expect(run.status?.phase).toBe("Completed");
    expect(run.status?.outputTail).toContain("from git v1");
    expect(run.status?.snapshot).toEqual({ files: 3, bytes: expect.any(Number), commit });
  });

  it("fails a run whose stored blob was tampered with before anything runs: SnapshotCorrupt", async () => {
    const up = await uploadSnapshot(store, entriesOfBuffers([
      { path: "main.py", content: Buffer.from("print('THE SCRIPT RAN')\n") },
      { path: `data-${randomBytes(4).toString("hex")}.bin`, content: Buffer.from(`original ${randomBytes(8).toString("hex")}`) },
    ]));
    const manifest = await store.getManifest(up.digest);
    const victim = manifest!.files.find((f) => f.path.startsWith("data-"))!;
    await store.service.getContainerClient(DEFAULT_CONTAINERS.snapshots).getBlockBlobClient(objectBlobName(victim.sha256)).uploadData(Buffer.from("tampered"));
    await apply({
      apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun", metadata: { name: "tampered", namespace: ns },
      spec: { runConfigurationRef: { name: "python" }, script: "main.py", source: { snapshot: { digest: up.digest } } },
    });
    const run = await waitForPhase(ns, "tampered", ["Completed", "Failed"], 180_000);
    expect(condition(run, "Succeeded")).toMatchObject({ status: "False", reason: "SnapshotCorrupt" });
    expect(condition(run, "Succeeded")?.message).toContain(victim.path);
    expect(run.status?.outputTail ?? "").not.toContain("THE SCRIPT RAN");
    expect(run.status?.exitCode).toBeUndefined();
    expect(sha256Of("tampered")).not.toBe(victim.sha256);
  });

  it("keeps the outputs of a run canceled while running (uploaded on SIGTERM)", async () => {
    await expectCanceledRunKeepsOutputs(ns, "python", store);
  });

  it("deletes a run's outputs with the run", async () => {
    const run = await getRun(ns, "from-git");
    const prefix = runRootPrefix({ namespace: ns, name: "from-git", uid: run.metadata.uid ?? "" });
    const before: string[] = [];
    for await (const b of store.listRunBlobs(prefix)) before.push(b.name);
    expect(before.length).toBeGreaterThan(0);
    await kubectl(["-n", ns, "delete", "trainingrun", "from-git", "--wait=true", "--timeout=60s"]);
    const after: string[] = [];
    for await (const b of store.listRunBlobs(prefix)) after.push(b.name);
    expect(after).toEqual([]);
  });
});
