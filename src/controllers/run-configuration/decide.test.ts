import { describe, expect, it } from "vitest";
import { aComputeTarget, ready } from "../../../test/fixtures/builders.js";
import type { RunConfiguration } from "../../api/v1alpha1/index.js";
import { decideRunConfigurationStatus } from "./decide.js";
import { environmentHash } from "./environment-hash.js";

const now = new Date("2025-01-01T00:00:00Z");
const rc = (spec: Partial<RunConfiguration["spec"]> = {}): RunConfiguration => ({
  metadata: { name: "cfg", namespace: "ns", generation: 3 },
  spec: { computeTargetRef: { name: "local" }, framework: "Python", nodeCount: 1, processCountPerNode: 1, ...spec },
});
const readyOf = (s: ReturnType<typeof decideRunConfigurationStatus>) => s.conditions?.find((c) => c.type === "Ready");

describe("decideRunConfigurationStatus", () => {
  const unsupported = { reason: "UnsupportedOnTarget" as const, message: "framework PySpark needs a Spark target" };
  it.each([
    ["is Ready when its target is Ready", rc(), { target: aComputeTarget(ready("True")) }, ["True", "Ready"]],
    ["waits for a target that is not Ready", rc(), { target: aComputeTarget(ready("False")) }, ["False", "ComputeTargetNotReady"]],
    ["names a missing target", rc(), {}, ["False", "ComputeTargetNotFound"]],
    ["shows the provider's own reason for what its target cannot run", rc({ framework: "PySpark" }), { target: aComputeTarget(ready("True")), problem: unsupported }, ["False", "UnsupportedOnTarget"]],
  ] as const)("%s", (_name, config, world, [status, reason]) => {
    const s = decideRunConfigurationStatus(config, world, now);
    expect(readyOf(s)).toMatchObject({ status, reason, observedGeneration: 3 });
    expect(s.observedGeneration).toBe(3);
  });
});

describe("environmentHash", () => {
  const managed = (pip: string[]) => ({ environment: { systemManaged: { pipPackages: pip } } });
  it("is stable for the same package list and changes with it", () => {
    expect(environmentHash(managed(["six==1.16.0"]))).toBe(environmentHash(managed(["six==1.16.0"])));
    expect(environmentHash(managed(["six==1.16.0"]))).not.toBe(environmentHash(managed(["six==1.15.0"])));
  });
  it("differs between user-managed interpreters and includes the base image", () => {
    expect(environmentHash({ environment: { userManaged: { interpreterPath: "python3" } } }))
      .not.toBe(environmentHash({ environment: { userManaged: { interpreterPath: "/opt/py/bin/python" } } }));
    expect(environmentHash({ ...managed([]), docker: { enabled: true, gpu: false, baseImage: "a" } }))
      .not.toBe(environmentHash({ ...managed([]), docker: { enabled: true, gpu: false, baseImage: "b" } }));
  });
  it("differs between targets whose image or environment cache differ, so one target's failed build never fails another's runs", () => {
    const local = (spec: object) => aComputeTarget((t) => ({ ...t, spec: { ...t.spec, local: spec } as never }));
    const cfg = managed(["six==1.16.0"]);
    const a = local({ image: "localhost/aml-training:py3", environmentCache: { hostPath: "/var/lib/a" } });
    const b = local({ image: "localhost/other:py3", environmentCache: { hostPath: "/var/lib/a" } });
    const c = local({ image: "localhost/aml-training:py3", environmentCache: { claimName: "envs" } });
    expect(environmentHash(cfg, a)).not.toBe(environmentHash(cfg, b));
    expect(environmentHash(cfg, a)).not.toBe(environmentHash(cfg, c));
    expect(environmentHash(cfg, a)).toBe(environmentHash(cfg, local({ image: "localhost/aml-training:py3", environmentCache: { hostPath: "/var/lib/a" } })));
  });
});
