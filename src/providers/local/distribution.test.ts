import { describe, expect, it } from "vitest";
import {
  distributionEnv, headlessServiceName, hostOf, JOB_NAME_MAX, layoutOf, localDistributionProblem, MASTER_PORT, tfConfig, type EnvVar, type Layout,
} from "./distribution.js";
import { aComputeTarget } from "../../../test/fixtures/builders.js";
import { createLocalProvider } from "./index.js";
import { runJobName } from "./job-builder.js";

const layout = (framework: Layout["framework"], nodeCount: number, processCountPerNode: number, jobName = "train-ab12c-1"): Layout =>
  layoutOf({ framework, nodeCount, processCountPerNode }, jobName);
const envMap = (env: EnvVar[]): Record<string, string | undefined> =>
  Object.fromEntries(env.map((e) => [e.name, "value" in e ? e.value : undefined]));
/** What the kubelet does with `$(VAR)`: substitute variables defined earlier in the list. */
function expand(env: EnvVar[], nodeRank: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    out[e.name] = "value" in e ? e.value.replace(/\$\(([A-Z_]+)\)/g, (m, v: string) => out[v] ?? m) : String(nodeRank);
  }
  return out;
}

describe("layout names", () => {
  it("gives every rank a stable name under the attempt's headless Service", () => {
    const l = layout("PyTorch", 3, 1);
    expect(l.serviceName).toBe("train-ab12c-1");
    expect([0, 1, 2].map((n) => hostOf(l, n))).toEqual(["train-ab12c-1-0.train-ab12c-1", "train-ab12c-1-1.train-ab12c-1", "train-ab12c-1-2.train-ab12c-1"]);
    expect(layout("PyTorch", 1, 4).serviceName).toBeUndefined();
    expect(hostOf(layout("PyTorch", 1, 4), 0)).toBe("localhost");
  });

  it("keeps Job names short enough that `<job>-999` is a DNS label, and unique per run UID", () => {
    const long = "a".repeat(200);
    const a = runJobName(long, "uid-1", 12);
    expect(a.length).toBeLessThanOrEqual(JOB_NAME_MAX);
    expect(`${a}-999`.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(runJobName(long, "uid-2", 12));
    expect(runJobName("my.run.v2", "uid", 1)).toMatch(/^my-run-v2-[0-9a-f]{5}-1$/);
    expect(runJobName("short", "uid", 1)).toBe(`short-${runJobName("x", "uid", 1).split("-")[1]}-1`);
  });

  it("makes Service names DNS-1035 labels: a letter first, at most 63 characters", () => {
    for (const name of [runJobName("9lives", "u", 1), runJobName("z".repeat(90), "u", 3), runJobName("0.1.2", "u", 1)]) {
      const svc = headlessServiceName(name);
      expect(svc).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
      expect(svc.length).toBeLessThanOrEqual(63);
    }
    expect(headlessServiceName("9lives-abcde-1")).toBe("r-9lives-abcde-1");
  });
});

describe("distributionEnv", () => {
  it("gives PyTorch ranks MASTER_ADDR/PORT, WORLD_SIZE and RANK = NODE_RANK (one process per pod)", () => {
    const env = distributionEnv(layout("PyTorch", 2, 1));
    expect(env[0]).toEqual({ name: "NODE_RANK", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } });
    expect(expand(env, 1)).toMatchObject({
      NODE_RANK: "1", RANK: "1", LOCAL_RANK: "0", LOCAL_WORLD_SIZE: "1", WORLD_SIZE: "2", NODE_COUNT: "2",
      MASTER_ADDR: "train-ab12c-1-0.train-ab12c-1", MASTER_PORT: String(MASTER_PORT),
    });
    expect(envMap(env).TF_CONFIG).toBeUndefined();
  });

  it("leaves RANK to the launcher when a pod runs several processes", () => {
    const env = envMap(distributionEnv(layout("PyTorch", 2, 2)));
    expect(env).toMatchObject({ WORLD_SIZE: "4", LOCAL_WORLD_SIZE: "2", LOCAL_RANK: "0" });
    expect("RANK" in env).toBe(false);
  });

  it("uses the pod itself as master for a single-node multi-process run", () => {
    expect(envMap(distributionEnv(layout("PyTorch", 1, 4)))).toMatchObject({ NODE_RANK: "0", MASTER_ADDR: "localhost", WORLD_SIZE: "4" });
  });

  it("keeps a plain single-process Python run to NODE_RANK, NODE_COUNT and WORLD_SIZE", () => {
    expect(Object.keys(envMap(distributionEnv(layout("Python", 1, 1))))).toEqual(["NODE_RANK", "NODE_COUNT", "WORLD_SIZE"]);
  });

  it("writes a TF_CONFIG whose task index is the pod's rank once the kubelet expands it", () => {
    const env = distributionEnv(layout("TensorFlow", 3, 1));
    const tf = JSON.parse(expand(env, 2).TF_CONFIG ?? "") as { cluster: { worker: string[] }; task: { type: string; index: number } };
    expect(tf).toEqual({
      cluster: { worker: ["train-ab12c-1-0.train-ab12c-1:2222", "train-ab12c-1-1.train-ab12c-1:2222", "train-ab12c-1-2.train-ab12c-1:2222"] },
      task: { type: "worker", index: 2 },
    });
  });

  it("lists one TensorFlow worker per slot, on consecutive ports, node-major", () => {
    const tf = JSON.parse(tfConfig(layout("TensorFlow", 2, 2), 0)) as { cluster: { worker: string[] } };
    expect(tf.cluster.worker).toEqual([
      "train-ab12c-1-0.train-ab12c-1:2222", "train-ab12c-1-0.train-ab12c-1:2223",
      "train-ab12c-1-1.train-ab12c-1:2222", "train-ab12c-1-1.train-ab12c-1:2223",
    ]);
  });
});

describe("localDistributionProblem", () => {
  const base = { framework: "PyTorch" as const, nodeCount: 2, processCountPerNode: 2 };
  it.each([
    ["PyTorch 2×2", base, undefined],
    ["TensorFlow 2×1", { ...base, framework: "TensorFlow" as const, processCountPerNode: 1 }, undefined],
    ["MPI on one process", { ...base, framework: "MPI" as const, nodeCount: 1, processCountPerNode: 1 }, undefined],
    ["MPI 2×2", { ...base, framework: "MPI" as const }, "mpirun"],
    ["TensorFlow with parameter servers", { ...base, framework: "TensorFlow" as const, parameterServerCount: 1 }, "parameterServerCount"],
    ["PySpark over 2 pods", { ...base, framework: "PySpark" as const, processCountPerNode: 1 }, "spark-submit"],
  ])("%s", (_name, config, expected) => {
    const problem = localDistributionProblem(config);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });
});

describe("the Local provider's validate", () => {
  it("refuses MPI over several processes at the RunConfiguration, with UnsupportedOnTarget", () => {
    const config = { computeTargetRef: { name: "local" }, framework: "MPI" as const, nodeCount: 2, processCountPerNode: 1 };
    expect(createLocalProvider().validate(config, aComputeTarget())).toMatchObject({ reason: "UnsupportedOnTarget" });
    expect(createLocalProvider().validate({ ...config, framework: "PyTorch" }, aComputeTarget())).toBeUndefined();
  });
});
