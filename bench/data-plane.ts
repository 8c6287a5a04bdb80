// The run data plane's costs: `kubectl aml submit` of a 100 MB / 1,000-file directory into the
// store (wall time, MB/s) against a plain copy of the same tree on this machine; a re-submit after
// one file changed (bytes uploaded; with the plugin's hash cache, and without it); and on the Local
// target the pod-start cost of materializing that snapshot (init container: fetch + verify +
// write) against a one-file inline source. Each figure comes with the load average it ran under.
// Standalone: `npx tsx bench/data-plane.ts` (needs `make cluster-up`); `make bench` runs it too.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Labels } from "../src/api/v1alpha1/index.js";
import { HashCache } from "../src/cli/hash-cache.js";
import { snapshotDirectory } from "../src/cli/snapshot-dir.js";
import { dataPlaneEnv } from "../src/data-plane/config.js";
import { DataPlane } from "../src/data-plane/data-plane.js";
import { uploadSnapshot } from "../src/data-plane/upload.js";
import { apply, createNamespace, kubectlJson, repoRoot, requireCluster, waitFor } from "../test/cluster/kubectl.js";
import { endTest } from "../test/e2e/support/operator.js";
import { installCrds } from "../test/e2e/support/operator.js";
import { launchOperator } from "./operator.js";
import { clusterServicesEnv } from "../test/e2e/support/services.js";

const FILES = 1000;
const FILE_BYTES = 100_000;

export interface DataPlaneBench {
  tree: { files: number; megabytes: number };
  /** 1-minute load average of this machine before each step (2 cores shared with other work). */
  load: { copy: number; submit: number; resubmit: number; localStart?: number };
  plainCopy: { seconds: number; mbPerSec: number };
  submit: { seconds: number; mbPerSec: number; uploadedFiles: number };
  /** One file rewritten, hashes of the others from the plugin's cache (what `kubectl aml submit` does). */
  resubmitOneChanged: { seconds: number; uploadedFiles: number; uploadedBytes: number; filesRead: number };
  /** The same re-submit without a hash cache: every file read and hashed again. */
  resubmitNoCache: { seconds: number };
  /** Pod created → train container started, seconds (1 s resolution of pod timestamps). */
  localStart: { snapshot100MB: number; inlineOneFile: number; overhead: number };
}

const load1 = (): number => Math.round(loadavg()[0]! * 10) / 10;

const secondsSince = (t: number): number => Math.round((performance.now() - t) / 10) / 100;

function makeTree(): string {
  const root = mkdtempSync(join(tmpdir(), "bench-dp-"));
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, `d${i % 10}`, `e${i % 7}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.bin`), randomBytes(FILE_BYTES));
  }
  writeFileSync(join(root, "train.py"), "import os\nprint('files', sum(len(f) for _, _, f in os.walk('.')))\n");
  return root;
}

/** Pod of the run's Job: creation → `train` started, in seconds. */
async function podStartSeconds(ns: string, run: string): Promise<number> {
  type Pod = { metadata: { creationTimestamp: string; labels: Record<string, string> }; status: { containerStatuses?: { name: string; state: { terminated?: { startedAt: string }; running?: { startedAt: string } } }[] } };
  const pods = await waitFor(`pod of ${run} started`, 300_000, async () => {
    const list = await kubectlJson<{ items: Pod[] }>(["-n", ns, "get", "pods", "-l", `${Labels.run}=${run}`, "-o", "json"]);
    const p = list.items[0];
    const s = p?.status.containerStatuses?.find((c) => c.name === "train")?.state;
    return s?.terminated || s?.running ? list.items : undefined;
  });
  const p = pods[0]!;
  const s = p.status.containerStatuses!.find((c) => c.name === "train")!.state;
  return (Date.parse((s.running ?? s.terminated)!.startedAt) - Date.parse(p.metadata.creationTimestamp)) / 1000;
}

export async function measureDataPlane(): Promise<DataPlaneBench> {
  const env = clusterServicesEnv();
  const store = await new DataPlane(dataPlaneEnv(env)).storeFor("bench", async () => undefined);
  const root = makeTree();
  const cacheFile = join(mkdtempSync(join(tmpdir(), "bench-hash-cache-")), "hashes.json");
  const megabytes = (FILES * FILE_BYTES) / 1e6;
  // Files written in the last 2 s are not cached (racily clean); a user's tree is older than that.
  await new Promise((r) => setTimeout(r, 2_100));
  try {
    const load: DataPlaneBench["load"] = { copy: load1(), submit: 0, resubmit: 0 };
    let t = performance.now();
    execFileSync("cp", ["-r", root, `${root}-copy`]);
    const copy = secondsSince(t);
    rmSync(`${root}-copy`, { recursive: true, force: true });

    load.submit = load1();
    t = performance.now();
    const up = await uploadSnapshot(store, (await snapshotDirectory(root, { cache: HashCache.load(cacheFile) })).entries);
    const submit = secondsSince(t);

    writeFileSync(join(root, "d0/e0/f0.bin"), randomBytes(FILE_BYTES));
    load.resubmit = load1();
    t = performance.now();
    const snap = await snapshotDirectory(root, { cache: HashCache.load(cacheFile) });
    const again = await uploadSnapshot(store, snap.entries);
    const resubmit = secondsSince(t);

    t = performance.now();
    await uploadSnapshot(store, (await snapshotDirectory(root)).entries);
    const resubmitNoCache = secondsSince(t);

    console.log(`store: ${megabytes} MB submit ${submit} s (cp -r ${copy} s), re-submit ${resubmit} s (${resubmitNoCache} s without the hash cache), ${again.uploadedFiles} file(s) / ${again.uploadedBytes} bytes uploaded`);
    await requireCluster();
    await installCrds();
    const ns = await createNamespace("bench-dataplane");
    const { op } = await launchOperator({ WATCH_NAMESPACE: ns });
    try {
      const run = (name: string, source: object) => ({
        apiVersion: "amlcompute.dev/v1alpha1", kind: "TrainingRun", metadata: { name, namespace: ns },
        spec: { script: "train.py", source, runConfiguration: { computeTargetRef: { name: "local" } } },
      });
      await apply({ apiVersion: "amlcompute.dev/v1alpha1", kind: "ComputeTarget", metadata: { name: "local", namespace: ns }, spec: { type: "Local" } });
      load.localStart = load1();
      await apply(run("inline", { inline: { files: [{ path: "train.py", content: "print('inline')\n" }] } }));
      const inlineOneFile = await podStartSeconds(ns, "inline");
      await apply(run("snapshot", { snapshot: { digest: again.digest } }));
      const snapshot100MB = await podStartSeconds(ns, "snapshot");
      return {
        tree: { files: up.files, megabytes }, load,
        plainCopy: { seconds: copy, mbPerSec: Math.round(megabytes / copy) },
        submit: { seconds: submit, mbPerSec: Math.round(megabytes / submit), uploadedFiles: up.uploadedFiles },
        resubmitOneChanged: { seconds: resubmit, uploadedFiles: again.uploadedFiles, uploadedBytes: again.uploadedBytes, filesRead: snap.entries.length - snap.unchangedFiles },
        resubmitNoCache: { seconds: resubmitNoCache },
        localStart: { snapshot100MB, inlineOneFile, overhead: Math.round((snapshot100MB - inlineOneFile) * 10) / 10 },
      };
    } finally {
      await endTest(op, ns);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function renderDataPlane(r: DataPlaneBench): string {
  return [
    `## Run data plane (${r.tree.files} files, ${r.tree.megabytes} MB, Azurite on this machine)`,
    "",
    "| what | seconds | MB/s | uploaded | load average (1 min) |",
    "|---|---:|---:|---:|---:|",
    `| plain copy (cp -r) | ${r.plainCopy.seconds} | ${r.plainCopy.mbPerSec} | — | ${r.load.copy} |`,
    `| submit (hash + upload to the store) | ${r.submit.seconds} | ${r.submit.mbPerSec} | ${r.submit.uploadedFiles} files | ${r.load.submit} |`,
    `| re-submit, one file changed (hash cache: ${r.resubmitOneChanged.filesRead} file read) | ${r.resubmitOneChanged.seconds} | — | ${r.resubmitOneChanged.uploadedFiles} file, ${r.resubmitOneChanged.uploadedBytes} bytes | ${r.load.resubmit} |`,
    `| the same re-submit without the hash cache (every file read) | ${r.resubmitNoCache.seconds} | — | 0 files | — |`,
    "",
    `| Local pod start (created → script started; load ${r.load.localStart ?? "—"}) | seconds |`,
    "|---|---:|",
    `| one-file inline source | ${r.localStart.inlineOneFile} |`,
    `| 100 MB / 1,000-file snapshot | ${r.localStart.snapshot100MB} |`,
    `| materialization overhead | ${r.localStart.overhead} |`,
    "",
  ].join("\n");
}

if (process.argv[1]?.endsWith("data-plane.ts")) {
  measureDataPlane().then((r) => {
    writeFileSync(join(repoRoot, "bench", "results", "data-plane.json"), JSON.stringify(r, null, 2) + "\n");
    console.log(renderDataPlane(r));
    process.exit(0);
  }, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
