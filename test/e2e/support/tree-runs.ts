// What every target's data-plane e2e checks, through the real plugin: the nested tree runs exactly
// as submitted and its outputs come back byte-exact; a run canceled while running keeps its outputs.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { TrainingRun } from "../../../src/api/v1alpha1/index.js";
import { attemptPrefix } from "../../../src/data-plane/layout.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { waitFor } from "../../cluster/kubectl.js";
import { sourceTree, WEIGHTS } from "../../support/source-tree.js";
import { getRun, patchRun, waitForPhase } from "./aml.js";
import { createdName, plugin, type Cli } from "./plugin.js";

/**
 * `kubectl aml submit` of the nested tree (test/support/source-tree.ts) with run configuration
 * `config`: the run's train.py hashes its working directory and compares with the digest computed
 * on the submitting side, then writes outputs; the run must complete, and `kubectl aml download`
 * must give back its outputs byte-exact and the full log. Returns the finished run and the submit's output.
 */
export async function expectTreeRunKept(ns: string, config: string, timeoutMs = 180_000): Promise<{ run: TrainingRun; submit: Cli }> {
  const submit = await plugin(["submit", sourceTree(), "--script", "train.py", "--config", config, "-n", ns]);
  expect(submit.code, submit.stderr).toBe(0);
  const name = createdName(submit.stdout);
  const run = await waitForPhase(ns, name, ["Completed", "Failed"], timeoutMs);
  expect(run.status?.outputTail).toContain("digest ok");
  expect(run.status?.outputTail).toContain("files 8");
  expect(run.status?.phase).toBe("Completed");
  expect(run.status?.snapshot).toMatchObject({ files: 8 });
  expect(run.status?.outputs).toMatchObject({ attempt: 1, files: 2, location: `aml-runs/${ns}/${name}-${run.metadata.uid}/attempt-1/outputs/` });
  expect(run.status?.outputs?.log).toContain("logs/output.log");
  expect(JSON.stringify(run.status)).not.toMatch(/sig=|AccountKey/);

  const out = mkdtempSync(join(tmpdir(), "dp-e2e-dl-"));
  const dl = await plugin(["download", name, out, "-n", ns]);
  expect(dl.code, dl.stderr).toBe(0);
  expect(readFileSync(join(out, "outputs/model.bin"))).toEqual(Buffer.from(WEIGHTS).reverse());
  expect(readFileSync(join(out, "outputs/ü/résumé.txt"), "utf8")).toBe("naïve ✓");
  expect(readFileSync(join(out, "logs/output.log"), "utf8")).toContain("wrote outputs");
  return { run, submit };
}

/**
 * A run of `config` that writes outputs/partial.txt, prints "working" and sleeps, canceled while
 * running: it ends Canceled, and what it wrote reaches status.outputs and the store (the runner
 * uploads after SIGTERM).
 */
export async function expectCanceledRunKeepsOutputs(ns: string, config: string, store: BlobStore, timeoutMs = 120_000): Promise<TrainingRun> {
  const dir = sourceTree({ "train.py": "import os, time\nos.makedirs('outputs')\nopen('outputs/partial.txt', 'w').write('checkpoint')\nprint('working', flush=True)\ntime.sleep(300)\n" });
  const sub = await plugin(["submit", dir, "--script", "train.py", "--config", config, "-n", ns]);
  expect(sub.code, sub.stderr).toBe(0);
  const name = createdName(sub.stdout);
  await waitFor("run prints working", timeoutMs, async () => (await getRun(ns, name)).status?.outputTail?.includes("working"));
  await patchRun(ns, name, { cancel: true });
  await waitForPhase(ns, name, ["Canceled"], 60_000);
  const run = await waitFor("canceled run's outputs", 120_000, async () => {
    const r = await getRun(ns, name);
    return r.status?.outputs ? r : undefined;
  });
  expect(run.status?.outputs).toMatchObject({ files: 1, bytes: "checkpoint".length });
  expect((await store.readRunBlob(`${attemptPrefix({ namespace: ns, name, uid: run.metadata.uid ?? "" }, 1)}outputs/partial.txt`))?.toString()).toBe("checkpoint");
  return run;
}
