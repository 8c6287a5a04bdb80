/**
 * RemoteVM benchmark (bytes uploaded and environment reuse on a second run): a real sshd on
 * 127.0.0.1, the real SSH provider, the run store on Azurite. Runs the same 60-file source with a
 * system-managed environment twice and reports, for the second run, the file content bytes the
 * submit uploaded to the store (goal: 0; the VM's runner fetches the snapshot from there) and the
 * time to finish (goal: no package install).
 */
import { randomUUID } from "node:crypto";
import { createRemoteVmProvider, type RemoteVmHandle } from "../src/providers/ssh/index.js";
import { startTestSshd } from "../test/support/sshd.js";
import { aRemoteVmTarget, aSubmission, credentialsFor, fakeContext, observeUntilDone, withWorkDir } from "../test/integration/ssh/fixtures.js";
import { storeOnAzurite } from "../test/integration/data-plane/support.js";
import { uploadedAttempt } from "../test/support/executor-harness.js";

export interface RemoteVmBench {
  files: number;
  sourceBytes: number;
  first: { uploadBytes: number; seconds: number; environment: string };
  second: { uploadBytes: number; seconds: number; environment: string };
}

const SOURCE: Record<string, string> = Object.fromEntries(
  Array.from({ length: 60 }, (_, i) => [`pkg/module_${i}.py`, `# module ${i}\nVALUES = ${JSON.stringify(Array.from({ length: 200 }, (_, j) => i * j))}\n`]),
);
SOURCE["train.py"] = "import six, pkg.module_1\nprint('ok', six.__version__)\n";

export async function benchRemoteVm(): Promise<RemoteVmBench> {
  const sshd = await startTestSshd({ user: "amlbenchvm" });
  const { az, store } = await storeOnAzurite();
  const entry = createRemoteVmProvider({ idleTimeoutMs: 10_000 });
  const executor = entry.executor!;
  try {
    const target = aRemoteVmTarget(sshd, withWorkDir(`bench-${randomUUID().slice(0, 8)}`));
    const ctx = fakeContext({ "ns/vm-creds": credentialsFor(sshd, "key") });
    const once = async (): Promise<RemoteVmBench["first"]> => {
      const started = performance.now();
      const { attempt: sub, upload } = await uploadedAttempt(aSubmission({ target, files: SOURCE, script: "train.py", config: { environment: { systemManaged: { pipPackages: ["six==1.16.0"] } } } }), store, SOURCE);
      const handle = await executor.submit(sub, ctx);
      const { obs, handle: last } = await observeUntilDone(executor, sub, handle, { ctx, timeoutMs: 240_000 });
      if (obs.state !== "Succeeded") throw new Error(`bench run ${obs.state}: ${obs.outputTail ?? ""}`);
      const h = last as unknown as RemoteVmHandle;
      return { uploadBytes: upload.uploadedBytes, seconds: (performance.now() - started) / 1000, environment: String(h.environmentStatus ?? "") };
    };
    const first = await once();
    const second = await once();
    return { files: Object.keys(SOURCE).length, sourceBytes: Object.values(SOURCE).reduce((n, c) => n + Buffer.byteLength(c), 0), first, second };
  } finally {
    entry.pool.closeAll();
    await sshd.stop();
    await az.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchRemoteVm(), null, 2));
}
