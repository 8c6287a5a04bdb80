import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import { createRemoteVmProvider, type RemoteVmHandle } from "../../../src/providers/ssh/index.js";
import type { ProviderContext } from "../../../src/providers/types.js";
import { type TestSshd } from "../../support/sshd.js";
import type { Azurite } from "../../azure-emulator/azurite.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { storeOnAzurite } from "../data-plane/support.js";
import { aStoredSubmission, observeUntilDone, startVm, type SubmissionInput } from "./fixtures.js";

describe("RemoteVM environments over a real sshd", () => {
  let sshd: TestSshd;
  let target: ComputeTarget;
  let ctx: ProviderContext;
  let az: Azurite;
  let store: BlobStore;
  const entry = createRemoteVmProvider({ idleTimeoutMs: 5_000 });
  const executor = entry.executor!;
  const submission = (input: SubmissionInput) => aStoredSubmission(store, input);

  beforeAll(async () => {
    ({ az, store } = await storeOnAzurite());
    ({ sshd, target, ctx } = await startVm({ workDir: "work-envs", credentials: "password" }));
  });
  afterAll(async () => { entry.pool.closeAll(); await sshd?.stop(); await az?.close(); });

  const sixRun = (hash: string) => submission({
    target, environmentHash: hash,
    files: { "train.py": "import six, sys\nprint('six', six.__version__, 'in', sys.prefix)\n" },
    config: { environment: { systemManaged: { pipPackages: ["six==1.17.0"] } } },
  });

  it("builds a system-managed venv with a real PyPI package once, then reuses it without installing", async () => {
    const hash = `six-${Date.now()}`;
    const first = await sixRun(hash);
    const t0 = Date.now();
    const a = await observeUntilDone(executor, first, await executor.submit(first, ctx), { ctx, timeoutMs: 180_000 });
    const firstMs = Date.now() - t0;
    expect(a.obs).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect(a.obs.outputTail).toMatch(new RegExp(`six 1\\.17\\.0 in .*/work-envs/envs/venv-${hash}`));
    expect((a.handle as RemoteVmHandle).environmentStatus).toBe("built");
    expect(a.obs.outputTail).toContain("Successfully installed six-1.17.0");
    const marker = sshd.runAsUser(`cat work-envs/envs/venv-${hash}/.aml-ready`);

    const second = await sixRun(hash);
    const t1 = Date.now();
    const b = await observeUntilDone(executor, second, await executor.submit(second, ctx), { ctx, timeoutMs: 60_000 });
    const secondMs = Date.now() - t1;
    expect(b.obs).toMatchObject({ state: "Succeeded", exitCode: 0 });
    expect((b.handle as RemoteVmHandle).environmentStatus).toBe("reused");
    expect(b.obs.outputTail).toContain(`environment venv-${hash} reused`);
    expect(b.obs.outputTail).not.toMatch(/Collecting|Installing|building environment/);
    expect(sshd.runAsUser(`cat work-envs/envs/venv-${hash}/.aml-ready`)).toBe(marker);
    console.log(`environment: first run ${firstMs} ms (build), second run ${secondMs} ms (reuse)`);
  });

  it("builds an environment once when two attempts need the same new hash at the same time", async () => {
    const hash = `shared-${Date.now()}`;
    const subs = await Promise.all([1, 2].map(() => submission({
      target, environmentHash: hash, files: { "train.py": "import sys\nprint(sys.prefix)\n" },
      config: { environment: { systemManaged: {} } },
    })));
    const handles = await Promise.all(subs.map((s) => executor.submit(s, ctx)));
    const ends = await Promise.all(subs.map((s, i) => observeUntilDone(executor, s, handles[i]!, { ctx, timeoutMs: 120_000 })));
    expect(ends.map((e) => e.obs.state)).toEqual(["Succeeded", "Succeeded"]);
    expect(ends.map((e) => (e.handle as RemoteVmHandle).environmentStatus).sort()).toEqual(["built", "reused"]);
  });

  it("fails an attempt whose environment cannot be built with EnvironmentFailed, leaving no ready marker", async () => {
    const hash = `broken-${Date.now()}`;
    const sub = await submission({
      target, environmentHash: hash, files: { "train.py": "print('never')\n" },
      config: { environment: { systemManaged: { pipPackages: ["aml-operator-no-such-package-x7q==0.0.1"] } } },
    });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx, timeoutMs: 180_000 });
    expect(obs).toMatchObject({ state: "Failed", reason: "EnvironmentFailed" });
    expect(obs.outputTail).not.toContain("never");
    expect(sshd.runAsUser(`test -e work-envs/envs/venv-${hash}/.aml-ready && echo ready || echo none`).trim()).toBe("none");
  });

  it("runs with a user-managed interpreter as given, installing nothing", async () => {
    const sub = await submission({
      target, files: { "train.py": "import sys\nprint('exe', sys.executable)\n" },
      config: { environment: { userManaged: { interpreterPath: "/usr/bin/python3" } } },
    });
    const { obs } = await observeUntilDone(executor, sub, await executor.submit(sub, ctx), { ctx });
    expect(obs).toMatchObject({ state: "Succeeded" });
    expect(obs.outputTail).toContain("exe /usr/bin/python3\n");
    expect(obs.outputTail).not.toContain("environment");
  });
});
