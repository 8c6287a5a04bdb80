import { describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun } from "../../../test/fixtures/builders.js";
import { buildSnapshot } from "../../snapshot/build.js";
import type { Attempt } from "../types.js";
import { buildEnvironmentJob, buildHeadlessService, buildRunJob, layoutOfAttempt, runJobName } from "./job-builder.js";

type Container = { name: string; command: string[]; env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; securityContext: Record<string, unknown>; resources?: unknown; volumeMounts: { name: string; mountPath: string }[] };
type PodSpec = { subdomain?: string; containers: Container[]; initContainers?: Container[]; terminationGracePeriodSeconds: number; volumes: { name: string; emptyDir?: object; configMap?: { name: string } }[] };
type JobSpec = { completionMode?: string; completions: number; parallelism: number; backoffLimit: number; activeDeadlineSeconds?: number; template: { spec: PodSpec } };

const snapshot = buildSnapshot([{ path: "train.py", content: "print(1)" }, { path: "lib/util.py", content: "x = 1" }]);
const withClaim = aComputeTarget((t) => ({ ...t, spec: { ...t.spec, local: { image: "img", imagePullPolicy: "IfNotPresent", environmentCache: { claimName: "envs" } } } }));
function submission(config: Partial<Attempt["config"]> = {}, target = aComputeTarget()): Attempt {
  return {
    run: aTrainingRun(), target, number: 2, handle: undefined, runId: "exp_1", snapshot, environmentHash: "abc123",
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
    const c = specOf(submission({ environment: { systemManaged: { pipPackages: ["six"] } } }, withClaim)).template.spec.containers[0]!;
    expect(userArgv(c)[0]).toBe("/aml/envs/abc123/bin/python");
  });

  it("has the runner materialize the snapshot into an emptyDir and run the command there, in one container", () => {
    const pod = specOf(submission()).template.spec;
    expect(pod.volumes.find((v) => v.name === "source")).toEqual({ name: "source", emptyDir: {} });
    expect(pod.volumes.find((v) => v.name === "runner")?.configMap?.name).toMatch(/^aml-runner-[0-9a-f]{12}$/);
    expect(pod.initContainers).toBeUndefined();
    const train = pod.containers[0]!;
    expect(train.command.slice(0, 5)).toEqual(["python3", "/aml/runner/aml_runner.py", "all", "--workdir", "/aml/source"]);
    expect(train.command).toContain("/dev/termination-log");
    expect(train.env.find((e) => e.name === "AML_SNAPSHOT_DIGEST")?.value).toBe(snapshot.digest);
    // SAS URLs only by reference to the attempt's Secret, never as values in the Job.
    const sas = train.env.filter((e) => e.name.endsWith("_URL"));
    expect(sas.length).toBeGreaterThan(0);
    expect(sas.every((e) => e.value === undefined && e.valueFrom?.secretKeyRef?.name.endsWith("-store"))).toBe(true);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
  });

  it("is restricted: non-root, no privilege escalation, read-only root filesystem", () => {
    expect(specOf(submission()).template.spec.containers[0]!.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  });

  it("makes an Indexed Job for several nodes, all ranks at once, with retries left to the operator", () => {
    const sub = submission({ framework: "PyTorch", nodeCount: 3, processCountPerNode: 1 });
    const spec = specOf(sub);
    expect(spec).toMatchObject({ completionMode: "Indexed", completions: 3, parallelism: 3, backoffLimit: 0 });
    expect(spec.template.spec.subdomain).toBe(layoutOfAttempt(sub).serviceName);
    const env = spec.template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === "WORLD_SIZE")?.value).toBe("3");
    expect(env.find((e) => e.name === "MASTER_ADDR")?.value).toBe(`${layoutOfAttempt(sub).jobName}-0.${layoutOfAttempt(sub).serviceName}`);
    expect(userArgv(spec.template.spec.containers[0]!)).toEqual(["python3", "train.py", "--lr", "0.1; rm -rf /"]);
  });

  it("lets user variables use the rank variables but never replace them", () => {
    const env = specOf(submission({ framework: "PyTorch", nodeCount: 2, environmentVariables: { WORLD_SIZE: "99", LOG_DIR: "/aml/outputs/rank-$(RANK)" } })).template.spec.containers[0]!.env;
    expect(env.filter((e) => e.name === "WORLD_SIZE")).toEqual([{ name: "WORLD_SIZE", value: "2" }]);
    expect(env.findIndex((e) => e.name === "LOG_DIR")).toBeGreaterThan(env.findIndex((e) => e.name === "RANK"));
  });

  it("starts several processes per pod through the launcher, with the script's argv intact", () => {
    const c = specOf(submission({ framework: "PyTorch", nodeCount: 2, processCountPerNode: 2 })).template.spec.containers[0]!;
    expect(userArgv(c).slice(0, 2)).toEqual(["python3", "-c"]);
    expect(userArgv(c).slice(3)).toEqual(["python3", "train.py", "--lr", "0.1; rm -rf /"]);
  });

  it("publishes a multi-node attempt's ranks through a headless Service owned by the run", () => {
    const sub = submission({ framework: "TensorFlow", nodeCount: 2 });
    const svc = buildHeadlessService(sub, layoutOfAttempt(sub)) as { metadata: { name: string; ownerReferences: { kind: string }[] }; spec: Record<string, unknown> };
    expect(svc.metadata.name).toBe(layoutOfAttempt(sub).serviceName);
    expect(svc.metadata.ownerReferences[0]?.kind).toBe("TrainingRun");
    expect(svc.spec).toMatchObject({
      clusterIP: "None", publishNotReadyAddresses: true,
      selector: { "amlcompute.dev/run-uid": sub.run.metadata.uid, "amlcompute.dev/attempt": "2", "amlcompute.dev/role": "run" },
    });
    const podLabels = (buildRunJob(sub).spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    expect(podLabels).toMatchObject(svc.spec.selector as Record<string, string>);
    expect(buildHeadlessService(submission(), layoutOfAttempt(submission()))).toBeUndefined();
  });

  it("requests GPUs and resources when configured", () => {
    const c = specOf(submission({ resources: { cpu: "500m", memory: "1Gi", gpu: 1 } })).template.spec.containers[0]!;
    expect(c.resources).toEqual({ limits: { cpu: "500m", memory: "1Gi", "nvidia.com/gpu": 1 }, requests: { cpu: "500m", memory: "1Gi" } });
  });

  it("passes pip packages to the environment build as arguments, not shell text", () => {
    const job = buildEnvironmentJob(submission({ environment: { systemManaged: { pipPackages: ["six==1.16.0", "$(evil)"] } } }, withClaim));
    const c = (job.spec as JobSpec).template.spec.containers[0]!;
    expect(c.command.slice(-2)).toEqual(["six==1.16.0", "$(evil)"]);
    expect(job.metadata.name).toBe("aml-env-abc123");
  });
});
