import { describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun } from "../../../test/fixtures/builders.js";
import { buildSnapshot } from "../../snapshot/build.js";
import type { Attempt } from "../types.js";
import { buildEnvironmentJob, buildRunJob, runJobName } from "./job-builder.js";

type Container = { name: string; command: string[]; env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; securityContext: Record<string, unknown>; resources?: unknown; volumeMounts: { name: string; mountPath: string }[] };
type PodSpec = { containers: Container[]; initContainers: Container[]; terminationGracePeriodSeconds: number; volumes: { name: string; emptyDir?: object; configMap?: { name: string } }[] };
type JobSpec = { completionMode?: string; completions: number; backoffLimit: number; activeDeadlineSeconds?: number; template: { spec: PodSpec } };

const snapshot = buildSnapshot([{ path: "train.py", content: "print(1)" }, { path: "lib/util.py", content: "x = 1" }]);
function submission(config: Partial<Attempt["config"]> = {}): Attempt {
  return {
    run: aTrainingRun(), target: aComputeTarget(), number: 2, handle: undefined, runId: "exp_1", snapshot, environmentHash: "abc123",
    argv: ["train.py", "--lr", "0.1; rm -rf /"], interpreterNeeded: true,
    config: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...config },
  };
}
const specOf = (sub: Attempt) => buildRunJob(sub).spec as JobSpec;
const userArgv = (c: Container) => c.command.slice(c.command.indexOf("--") + 1);

describe("buildRunJob", () => {
  it("names Jobs deterministically per run uid and attempt, within 63 characters", () => {
    expect(runJobName("r", "uid-1", 1)).toBe(runJobName("r", "uid-1", 1));
    expect(runJobName("r", "uid-1", 1)).not.toBe(runJobName("r", "uid-2", 1));
    expect(runJobName("x".repeat(100), "uid", 12).length).toBeLessThanOrEqual(63);
  });

  it("passes arguments as argv (never through a shell) to the user-managed interpreter", () => {
    const c = specOf(submission()).template.spec.containers[0]!;
    expect(userArgv(c)).toEqual(["python3", "train.py", "--lr", "0.1; rm -rf /"]);
  });

  it("runs system-managed environments from the environment cache", () => {
    const c = specOf(submission({ environment: { systemManaged: { pipPackages: ["six"] } } })).template.spec.containers[0]!;
    expect(userArgv(c)[0]).toBe("/aml/envs/abc123/bin/python");
  });

  it("materializes the snapshot into an emptyDir in an init container and runs the command through the runner", () => {
    const pod = specOf(submission()).template.spec;
    expect(pod.volumes.find((v) => v.name === "source")).toEqual({ name: "source", emptyDir: {} });
    expect(pod.volumes.find((v) => v.name === "runner")?.configMap?.name).toMatch(/^aml-runner-[0-9a-f]{12}$/);
    const init = pod.initContainers[0]!;
    expect(init.command.slice(0, 5)).toEqual(["python3", "/aml/runner/aml_runner.py", "materialize", "--workdir", "/aml/source"]);
    expect(init.env.find((e) => e.name === "AML_SNAPSHOT_DIGEST")?.value).toBe(snapshot.digest);
    const train = pod.containers[0]!;
    expect(train.command.slice(0, 3)).toEqual(["python3", "/aml/runner/aml_runner.py", "run"]);
    // SAS URLs only by reference to the attempt's Secret, never as values in the Job.
    const sas = [...init.env, ...train.env].filter((e) => e.name.endsWith("_URL"));
    expect(sas.length).toBeGreaterThan(0);
    expect(sas.every((e) => e.value === undefined && e.valueFrom?.secretKeyRef?.name.endsWith("-store"))).toBe(true);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
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
