import { describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun } from "../../../test/fixtures/builders.js";
import { buildSnapshot } from "../../snapshot/build.js";
import { manifestOf } from "../../snapshot/store.js";
import type { Attempt } from "../types.js";
import { buildEnvironmentJob, buildRunJob, runJobName } from "./job-builder.js";

type PodSpec = { containers: { command: string[]; env: { name: string; value?: string }[]; securityContext: Record<string, unknown>; resources?: unknown }[]; volumes: { name: string; configMap?: { items: { key: string; path: string }[] } }[] };
type JobSpec = { completionMode?: string; completions: number; backoffLimit: number; activeDeadlineSeconds?: number; template: { spec: PodSpec } };

const snapshot = buildSnapshot([{ path: "train.py", content: "print(1)" }, { path: "lib/util.py", content: "x = 1" }]);
function submission(config: Partial<Attempt["config"]> = {}): Attempt {
  return {
    run: aTrainingRun(), target: aComputeTarget(), number: 2, handle: undefined, runId: "exp_1", snapshot, environmentHash: "abc123",
    argv: ["train.py", "--lr", "0.1; rm -rf /"], interpreterNeeded: true,
    config: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...config },
  };
}
const specOf = (sub: Attempt) => buildRunJob(sub, manifestOf(sub.snapshot)).spec as JobSpec;

describe("buildRunJob", () => {
  it("names Jobs deterministically per run uid and attempt, within 63 characters", () => {
    expect(runJobName("r", "uid-1", 1)).toBe(runJobName("r", "uid-1", 1));
    expect(runJobName("r", "uid-1", 1)).not.toBe(runJobName("r", "uid-2", 1));
    expect(runJobName("x".repeat(100), "uid", 12).length).toBeLessThanOrEqual(63);
  });

  it("passes arguments as argv (never through a shell) to the user-managed interpreter", () => {
    const c = specOf(submission()).template.spec.containers[0]!;
    expect(c.command).toEqual(["python3", "train.py", "--lr", "0.1; rm -rf /"]);
  });

  it("runs system-managed environments from the environment cache", () => {
    const c = specOf(submission({ environment: { systemManaged: { pipPackages: ["six"] } } })).template.spec.containers[0]!;
    expect(c.command[0]).toBe("/aml/envs/abc123/bin/python");
  });

  it("mounts the snapshot files at their nested paths", () => {
    const source = specOf(submission()).template.spec.volumes.find((v) => v.name === "source");
    expect(source?.configMap?.items.map((i) => i.path).sort()).toEqual(["lib/util.py", "train.py"]);
  });

  it("is restricted: non-root, no privilege escalation, read-only root filesystem", () => {
    expect(specOf(submission()).template.spec.containers[0]!.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  });

  it("makes an Indexed Job for several nodes, with retries left to the operator", () => {
    const spec = specOf(submission({ nodeCount: 3, processCountPerNode: 2 }));
    expect(spec).toMatchObject({ completionMode: "Indexed", completions: 3, backoffLimit: 0 });
    const env = spec.template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === "WORLD_SIZE")?.value).toBe("6");
    expect(env.some((e) => e.name === "NODE_RANK")).toBe(true);
  });

  it("requests GPUs and resources when configured", () => {
    const c = specOf(submission({ resources: { cpu: "500m", memory: "1Gi", gpu: 1 } })).template.spec.containers[0]!;
    expect(c.resources).toEqual({ limits: { cpu: "500m", memory: "1Gi", "nvidia.com/gpu": 1 }, requests: { cpu: "500m", memory: "1Gi" } });
  });

  it("passes pip packages to the environment build as arguments, not shell text", () => {
    const job = buildEnvironmentJob(submission({ environment: { systemManaged: { pipPackages: ["six==1.16.0", "$(evil)"] } } }));
    const c = (job.spec as JobSpec).template.spec.containers[0]!;
    expect(c.command.slice(-2)).toEqual(["six==1.16.0", "$(evil)"]);
    expect(job.metadata.name).toBe("aml-env-abc123");
  });
});

describe("buildSnapshot", () => {
  it("has the same digest for the same tree in any order, and another for other content", () => {
    const a = buildSnapshot([{ path: "a", content: "1" }, { path: "b/c", content: "2" }]);
    const b = buildSnapshot([{ path: "b/c", content: "2" }, { path: "a", content: "1" }]);
    const c = buildSnapshot([{ path: "a", content: "1" }, { path: "b/c", content: "3" }]);
    expect(a.digest).toBe(b.digest);
    expect(a.digest).not.toBe(c.digest);
    expect(a.totalBytes).toBe(2);
  });
});
