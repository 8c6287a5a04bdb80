// Runs every case of deploy/argocd/<group>/<Kind>/health_test.yaml (the upstream Argo CD layout)
// through lua5.1 — the Lua version Argo CD embeds (gopher-lua) — and compares the result.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../../cluster/kubectl.js";

interface HealthStatus { status: string; message?: string }
interface ActionTests {
  discoveryTests: { inputPath: string; result: { name: string; disabled: boolean }[] }[];
  actionTests: { action: string; inputPath: string; expectedOutputPath: string }[];
}
interface HealthTests { tests: { healthStatus: HealthStatus; inputPath: string }[] }

const GROUP_DIR = join(repoRoot, "deploy/argocd/amlcompute.dev");
const HARNESS = join(repoRoot, "test/integration/ship/argocd-health.lua");
const KINDS = ["ComputeTarget", "RunConfiguration", "TrainingRun", "Sweep"];
let lua = "";

/** cjson decodes JSON null to a sentinel, not nil; Argo CD's conversion drops nulls, so do the same. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]));
  }
  return v;
}

function runLua(script: string, obj: unknown, raw = false): unknown {
  const r = spawnSync(lua, [HARNESS, script, ...(raw ? ["raw"] : [])], { input: JSON.stringify(withoutNulls(obj)), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`lua5.1 exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const health = (kind: string, obj: unknown): HealthStatus => runLua(join(GROUP_DIR, kind, "health.lua"), obj) as HealthStatus;
const readYaml = (kind: string, path: string): unknown => parse(readFileSync(join(GROUP_DIR, kind, path), "utf8"));

function testsOf(kind: string): HealthTests["tests"] {
  return (parse(readFileSync(join(GROUP_DIR, kind, "health_test.yaml"), "utf8")) as HealthTests).tests;
}

beforeAll(() => {
  const r = spawnSync(join(repoRoot, "hack/tools.sh"), ["lua"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`hack/tools.sh lua failed: ${r.stderr}`);
  lua = r.stdout.trim();
});

describe.each(KINDS)("Argo CD health of amlcompute.dev/%s", (kind) => {
  it.each(testsOf(kind).map((t) => [t.inputPath, t.healthStatus] as const))("%s → %o", (inputPath, expected) => {
    const obj = parse(readFileSync(join(GROUP_DIR, kind, inputPath), "utf8")) as { kind: string };
    expect(obj.kind).toBe(kind);
    expect(health(kind, obj)).toEqual(expected);
  });

  it("has a test for every testdata file and covers Healthy, Degraded and Progressing", () => {
    const actionTests = join(GROUP_DIR, kind, "actions/action_test.yaml");
    const actions = existsSync(actionTests) ? parse(readFileSync(actionTests, "utf8")) as ActionTests : { discoveryTests: [], actionTests: [] };
    const referenced = [...new Set([...testsOf(kind).map((t) => t.inputPath), ...actions.discoveryTests.map((t) => t.inputPath),
      ...actions.actionTests.flatMap((t) => [t.inputPath, t.expectedOutputPath])])].sort();
    const files = readdirSync(join(GROUP_DIR, kind, "testdata")).map((f) => `testdata/${f}`).sort();
    expect(referenced).toEqual(files);
    const statuses = new Set(testsOf(kind).map((t) => t.healthStatus.status));
    for (const s of ["Healthy", "Degraded", "Progressing"]) expect(statuses).toContain(s);
  });

  it("is never Healthy for a stale generation, whatever the conditions say", () => {
    const healthy = testsOf(kind).find((t) => t.healthStatus.status === "Healthy");
    const obj = parse(readFileSync(join(GROUP_DIR, kind, healthy!.inputPath), "utf8")) as { metadata: { generation: number } };
    obj.metadata.generation += 1;
    expect(health(kind, obj).status).toBe("Progressing");
  });
});

describe("docs/install.md argocd-cm snippet", () => {
  it("carries exactly the health.lua of each kind", () => {
    const doc = readFileSync(join(repoRoot, "docs/install.md"), "utf8");
    const block = /<!-- argocd-cm:start[^>]*-->\n```yaml\n([\s\S]*?)```\n<!-- argocd-cm:end -->/.exec(doc)?.[1];
    expect(block, "argocd-cm block in docs/install.md").toBeDefined();
    const cm = parse(block!) as { metadata: { name: string }; data: Record<string, string> };
    expect(cm.metadata.name).toBe("argocd-cm");
    expect(Object.keys(cm.data).sort()).toEqual([
      "resource.customizations.actions.amlcompute.dev_TrainingRun", ...KINDS.map((k) => `resource.customizations.health.amlcompute.dev_${k}`)].sort());
    const actions = parse(cm.data["resource.customizations.actions.amlcompute.dev_TrainingRun"]!) as { "discovery.lua": string; definitions: { name: string; "action.lua": string }[] };
    expect(actions["discovery.lua"]).toBe(readFileSync(join(GROUP_DIR, "TrainingRun/actions/discovery.lua"), "utf8"));
    expect(actions.definitions).toEqual([{ name: "cancel", "action.lua": readFileSync(join(GROUP_DIR, "TrainingRun/actions/cancel/action.lua"), "utf8") }]);
    for (const kind of KINDS) {
      expect(cm.data[`resource.customizations.health.amlcompute.dev_${kind}`]).toBe(readFileSync(join(GROUP_DIR, kind, "health.lua"), "utf8"));
    }
  });
});

describe("Argo CD resource actions of amlcompute.dev/TrainingRun", () => {
  const dir = join(GROUP_DIR, "TrainingRun", "actions");
  const tests = parse(readFileSync(join(dir, "action_test.yaml"), "utf8")) as ActionTests;

  it.each(tests.discoveryTests.map((t) => [t.inputPath, t.result] as const))("discovery of %s → %o", (inputPath, expected) => {
    const actions = runLua(join(dir, "discovery.lua"), readYaml("TrainingRun", inputPath), true) as Record<string, { disabled: boolean }>;
    expect(Object.entries(actions).map(([name, a]) => ({ name, disabled: a.disabled }))).toEqual(expected);
  });

  it.each(tests.actionTests.map((t) => [t.action, t.inputPath, t.expectedOutputPath] as const))("%s on %s gives %s", (action, inputPath, expectedPath) => {
    const out = runLua(join(dir, action, "action.lua"), readYaml("TrainingRun", inputPath), true);
    expect(out).toEqual(withoutNulls(readYaml("TrainingRun", expectedPath)));
  });
});
