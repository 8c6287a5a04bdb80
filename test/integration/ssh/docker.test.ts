import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import { createRemoteVmProvider, type RemoteVmHandle } from "../../../src/providers/ssh/index.js";
import type { ProviderContext } from "../../../src/providers/types.js";
import { type TestSshd } from "../../support/sshd.js";
import type { Azurite } from "../../azure-emulator/azurite.js";
import { runIdentity } from "../../../src/data-plane/data-plane.js";
import { attemptPrefix } from "../../../src/data-plane/layout.js";
import type { BlobStore } from "../../../src/data-plane/store.js";
import { expectTreeKept, treeRoundTrip } from "../../support/executor-harness.js";
import { storeOnAzurite } from "../data-plane/support.js";
import { aStoredSubmission, observeUntilDone, startVm, type SubmissionInput } from "./fixtures.js";

// Built by hack/test-services.sh up (debootstrap + docker import): nothing can be pulled here.
const IMAGE = process.env.AML_SSH_TEST_IMAGE ?? "localhost/aml-remotevm-test:py3";

function requireImage(): void {
  try {
    execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "ignore" });
  } catch {
    throw new Error(`Docker engine or image ${IMAGE} missing: run hack/test-services.sh up`);
  }
}

describe("RemoteVM Docker mode: the run executes in a container on the VM's engine", () => {
  let sshd: TestSshd;
  let target: ComputeTarget;
  let ctx: ProviderContext;
  let az: Azurite;
  let store: BlobStore;
  const entry = createRemoteVmProvider({ idleTimeoutMs: 5_000 });
  const executor = entry.executor!;
  const submission = (input: SubmissionInput) => aStoredSubmission(store, input);

  beforeAll(async () => {
    requireImage();
    ({ az, store } = await storeOnAzurite());
    // The login user may use the engine.
    ({ sshd, target, ctx } = await startVm({ workDir: "work-docker", credentials: "key", sshd: { groups: ["docker"] } }));
  });
  afterAll(async () => { entry.pool.closeAll(); await sshd?.stop(); await az?.close(); });

  it("detects the Docker engine when probing", async () => {
    const obs = await entry.compute.ensure(target, ctx);
    expect(obs.status?.capabilities?.docker).toBe(true);
  });

  it("runs the script in the image with the snapshot mounted, env vars, shm size and extra args", async () => {
    const sub = await submission({
      target,
      files: { "train.py": [
        "import os, sys",
        "print('in container:', os.path.exists('/.dockerenv'), 'cwd', os.getcwd())",
        "print('files', sorted(os.listdir('.')))",
        "st = os.statvfs('/dev/shm'); print('shm MiB', st.f_blocks * st.f_frsize // 2**20)",
        "print('label', os.environ['LABEL'], 'args', sys.argv[1:])",
        "os.makedirs(os.environ['AML_OUTPUT_DIR'])",
        "open(os.path.join(os.environ['AML_OUTPUT_DIR'], 'out.txt'), 'w').write('written in container')",
        "sys.exit(4)",
      ].join("\n"), "lib/helper.py": "X = 1\n" },
      args: ["--epochs", "2"],
      config: {
        environment: { userManaged: { interpreterPath: "python3" } },
        environmentVariables: { LABEL: "a b 'c'" },
        docker: { enabled: true, baseImage: IMAGE, gpu: false, shmSize: "96Mi", arguments: ["--network", "none"] },
      },
    });
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    const { obs } = await observeUntilDone(executor, sub, handle, { ctx, timeoutMs: 60_000 });
    expect(obs).toMatchObject({ state: "Failed", exitCode: 4, reason: "ScriptFailed" });
    expect(obs.outputTail).toContain("in container: True cwd /workspace");
    expect(obs.outputTail).toContain("files ['lib', 'train.py']");
    expect(obs.outputTail).toContain("shm MiB 96");
    expect(obs.outputTail).toContain("label a b 'c' args ['--epochs', '2']");
    // Written as the SSH user (docker run --user), so the run directory stays removable.
    expect(sshd.runAsUser(`cat ${handle.runDir}/src/outputs/out.txt`)).toBe("written in container");
    // The runner on the VM wraps docker run and uploads ./outputs when the container ends (here: exit 4).
    expect((await store.readRunBlob(`${attemptPrefix(runIdentity(sub.run.metadata), 1)}outputs/out.txt`))?.toString()).toBe("written in container");
    await executor.cleanup({ ...sub, target: target, handle: handle }, ctx);
    expect(sshd.runAsUser(`test -e ${handle.runDir} && echo present || echo gone`).trim()).toBe("gone");
  });

  it("runs the submitted tree exactly as written at /workspace, and keeps its outputs byte-exact", async () => {
    const sub = await submission({ target, files: {}, config: { docker: { enabled: true, baseImage: IMAGE, gpu: false } } });
    expectTreeKept(await treeRoundTrip({ executor, ctx: () => ctx, sub, store }));
  });

  it("cancel stops and removes the container, and keeps what it wrote to ./outputs", async () => {
    const sub = await submission({
      target, files: { "train.py": "import os, time\nos.makedirs('outputs')\nopen('outputs/partial.txt', 'w').write('checkpoint')\nprint('sleeping', flush=True)\ntime.sleep(300)\n" },
      config: { docker: { enabled: true, baseImage: IMAGE, gpu: false } },
    });
    const handle = (await executor.submit(sub, ctx)) as RemoteVmHandle;
    let obs = await executor.observe({ ...sub, handle: handle }, ctx);
    for (let i = 0; !obs.outputTail?.includes("sleeping") && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      obs = await executor.observe({ ...sub, handle: handle }, ctx);
    }
    expect(obs.state).toBe("Running");
    await executor.cancel({ ...sub, handle: handle }, ctx);
    const end = await observeUntilDone(executor, sub, handle, { ctx, timeoutMs: 30_000 });
    expect(end.obs).toMatchObject({ state: "Failed", reason: "Canceled" });
    const names = execFileSync("docker", ["ps", "-a", "--format", "{{.Names}}"], { encoding: "utf8" });
    expect(names).not.toContain(handle.containerName);
    // The runner on the VM wraps docker run: SIGTERM reaches the container (--init), then the upload.
    expect((await store.readRunBlob(`${attemptPrefix(runIdentity(sub.run.metadata), 1)}outputs/partial.txt`))?.toString()).toBe("checkpoint");
  });
});
