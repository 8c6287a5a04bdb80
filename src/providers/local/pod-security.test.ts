import { execFile } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { aComputeTarget, aTrainingRun } from "../../../test/fixtures/builders.js";
import { MemoryKube } from "../../../test/support/memory-kube.js";
import { restrictedViolations, type PodSpecLike } from "../../../test/support/pod-security.js";
import type { LocalTargetSpec } from "../../api/v1alpha1/index.js";
import { BuiltinKinds, type KubeObject } from "../../kube/types.js";
import { buildSnapshot } from "../../snapshot/build.js";
import type { Attempt, ProviderContext } from "../types.js";
import { hostPathProblem, localTargetsConfigFromEnv } from "./host-path.js";
import { createLocalProvider } from "./index.js";
import { buildEnvironmentJob, buildRunJob } from "./job-builder.js";
import { PREPARE_CACHE_CONTAINER, PREPARE_CACHE_SCRIPT } from "./pod-parts.js";

const allowed = { allowedHostPathPrefixes: ["/var/lib/amlcompute"] };
const targetWith = (local: Partial<LocalTargetSpec>) =>
  aComputeTarget((t) => ({ ...t, spec: { ...t.spec, local: { image: "img", imagePullPolicy: "IfNotPresent", ...local } as LocalTargetSpec } }));
const managed = { environment: { systemManaged: { pipPackages: ["six"] } } };
const snapshot = buildSnapshot([{ path: "train.py", content: "print(1)" }]);

function attempt(config: Partial<Attempt["config"]> = {}, target = aComputeTarget()): Attempt {
  return {
    run: aTrainingRun(), target, number: 1, handle: undefined, runId: "exp_1", snapshot, environmentHash: "abc123",
    argv: ["train.py"], interpreterNeeded: true,
    config: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...config },
  };
}
const podSpecOf = (job: KubeObject): PodSpecLike => (job.spec as { template: { spec: PodSpecLike } }).template.spec;

/** Every pod template the Local provider builds, for every shape of cache and run. */
const restrictedBuilds: [string, () => KubeObject][] = [
  ["run, user-managed", () => buildRunJob(attempt())],
  ["run, 2 nodes x 2 processes (launcher), shared memory, deadline", () => buildRunJob(attempt({ nodeCount: 2, processCountPerNode: 2, framework: "PyTorch", docker: { enabled: false, gpu: false, shmSize: "1Gi" }, maxRunDurationSeconds: 60 }))],
  ["run, system-managed environment in a claim", () => buildRunJob(attempt(managed, targetWith({ environmentCache: { claimName: "envs" } })))],
  ["environment build into a claim", () => buildEnvironmentJob(attempt(managed, targetWith({ environmentCache: { claimName: "envs" } })))],
  ["run, service account, node selector and priority class", () => buildRunJob(attempt({}, targetWith({ serviceAccountName: "sa", nodeSelector: { a: "b" }, priorityClassName: "p" })))],
];

describe("every pod the Local provider creates meets the restricted Pod Security Standard", () => {
  it.each(restrictedBuilds)("%s", (_name, build) => {
    expect(restrictedViolations(podSpecOf(build()))).toEqual([]);
  });

  it("the checker itself catches what the profile forbids", () => {
    const bad: PodSpecLike = {
      containers: [{ name: "c", securityContext: { runAsUser: 0, capabilities: { add: ["SYS_ADMIN"] } } }],
      volumes: [{ name: "h", hostPath: { path: "/" } }],
    };
    expect(restrictedViolations(bad)).toEqual(expect.arrayContaining([
      "volume h: hostPath volumes are not allowed", "container c: allowPrivilegeEscalation must be false", "container c: runAsNonRoot must be true",
      "container c: runAsUser 0", "container c: seccompProfile must be RuntimeDefault or Localhost", "container c: capabilities must drop ALL",
      "container c: adds capability SYS_ADMIN",
    ]));
  });

  it("an allow-listed hostPath cache is the one exception: its volume and the init step that creates the namespace's directory", () => {
    const hostPath = targetWith({ environmentCache: { hostPath: "/var/lib/amlcompute/cache" } });
    expect(restrictedViolations(podSpecOf(buildRunJob(attempt(managed, hostPath))))).toEqual(["volume envs: hostPath volumes are not allowed"]);
    const build = podSpecOf(buildEnvironmentJob(attempt(managed, hostPath)));
    expect(restrictedViolations(build).sort()).toEqual([
      `container ${PREPARE_CACHE_CONTAINER}: adds capability CHOWN`,
      `container ${PREPARE_CACHE_CONTAINER}: runAsNonRoot must be true`,
      `container ${PREPARE_CACHE_CONTAINER}: runAsUser 0`,
      "volume envs: hostPath volumes are not allowed",
    ]);
    // Build and run containers see only the namespace's own directory of the node cache.
    const mounts = (build.containers ?? []).flatMap((c) => (c as { volumeMounts?: { name: string; subPath?: string }[] }).volumeMounts ?? []);
    expect(mounts.find((m) => m.name === "envs")?.subPath).toBe("aml-envs/ns");
  });
});

describe("node directories come only from the administrator's allow-list", () => {
  it.each([
    ["/var/lib/amlcompute/cache", undefined],
    ["/var/lib/amlcompute", undefined],
    ["/var/lib/amlcomputer", /not under an allowed prefix/],
    ["/etc", /not under an allowed prefix/],
    ["/var/lib/amlcompute/../../etc", /not a normalized/],
    ["/var/lib/amlcompute/cache/", /not a normalized/],
    ["/var/lib/amlcompute/cache/aml-envs/ns/x", /another cache's aml-envs/],
  ])("%s", (path, problem) => {
    const got = hostPathProblem(path, allowed);
    if (problem) expect(got).toMatch(problem);
    else expect(got).toBeUndefined();
  });

  it("refuses every hostPath when the operator allows none (the default)", () => {
    expect(localTargetsConfigFromEnv({})).toEqual({ allowedHostPathPrefixes: [] });
    expect(hostPathProblem("/var/lib/amlcompute/cache", localTargetsConfigFromEnv({}))).toMatch(/allows no node directories/);
    expect(localTargetsConfigFromEnv({ LOCAL_ALLOWED_HOST_PATH_PREFIXES: "/a, /b/c" })).toEqual({ allowedHostPathPrefixes: ["/a", "/b/c"] });
    expect(() => localTargetsConfigFromEnv({ LOCAL_ALLOWED_HOST_PATH_PREFIXES: "/" })).toThrow(/other than \//);
    expect(() => localTargetsConfigFromEnv({ LOCAL_ALLOWED_HOST_PATH_PREFIXES: "var/x" })).toThrow(/absolute/);
  });

  const ctxOf = (kube: MemoryKube): ProviderContext => ({
    kube, log: pino({ level: "silent" }), now: new Date(), signal: new AbortController().signal, readSecret: async () => undefined,
  });

  it("a target naming a hostPath outside the list is Ready=False HostPathNotAllowed, and no pod is ever built for it", async () => {
    const provider = createLocalProvider({ allowedHostPathPrefixes: [] });
    const target = targetWith({ environmentCache: { hostPath: "/etc" } });
    const kube = new MemoryKube();
    expect((await provider.compute.ensure(target, ctxOf(kube))).ready).toMatchObject({ status: "False", reason: "HostPathNotAllowed" });
    await expect(provider.executor!.submit(attempt(managed, target), ctxOf(kube))).rejects.toMatchObject({ name: "TerminalError", reason: "HostPathNotAllowed" });
    expect(kube.list(BuiltinKinds.Job)).toEqual([]);
    expect((await createLocalProvider(allowed).compute.ensure(targetWith({ environmentCache: { hostPath: "/var/lib/amlcompute/x" } }), ctxOf(kube))).ready.status).toBe("True");
  });

  it("a system-managed environment on a target without a cache is refused at validation", () => {
    expect(createLocalProvider().validate(attempt(managed).config, aComputeTarget())).toMatchObject({ reason: "UnsupportedOnTarget", message: expect.stringContaining("environmentCache") });
    expect(createLocalProvider().validate(attempt().config, aComputeTarget())).toBeUndefined();
  });
});

describe("the prepare-cache step takes ownership only of directories it creates", () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
  const run = (root: string) => promisify(execFile)("/bin/sh", ["-c", PREPARE_CACHE_SCRIPT, "prepare-cache", root], { env: { ...process.env, AML_NAMESPACE: "team-a" } });
  const fresh = () => { const d = mkdtempSync(join(tmpdir(), "aml-cache-")); dirs.push(d); return d; };
  // chown needs root, as the init container has it (CAP_CHOWN).
  const asRoot = process.getuid?.() === 0;

  it.runIf(asRoot)("creates aml-envs (root's) and the namespace's directory (the run user's) in an empty hostPath, and is idempotent", async () => {
    const root = fresh();
    await run(root);
    await run(root);
    expect(statSync(join(root, "aml-envs")).uid).toBe(0);
    expect(statSync(join(root, "aml-envs", "team-a"))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(statSync(root).uid).toBe(0);
  });

  it.runIf(asRoot)("refuses a directory that exists with another owner, and a symlink, changing nothing", async () => {
    const root = fresh();
    mkdirSync(join(root, "aml-envs", "team-a"), { recursive: true });
    await expect(run(root)).rejects.toMatchObject({ stderr: expect.stringContaining("not owned by 1000:1000") });
    expect(statSync(join(root, "aml-envs", "team-a")).uid).toBe(0);

    const other = fresh();
    const victim = fresh();
    mkdirSync(join(other, "aml-envs"));
    symlinkSync(victim, join(other, "aml-envs", "team-a"));
    await expect(run(other)).rejects.toMatchObject({ stderr: expect.stringContaining("symlink") });
    expect(lstatSync(victim).uid).toBe(0);
  });
});
