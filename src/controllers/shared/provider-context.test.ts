import pino from "pino";
import { describe, expect, it } from "vitest";
import type { KubeClient } from "../../kube/client.js";
import { providerContext } from "./provider-context.js";

/** A KubeClient whose only method is a counted Secret read. */
function countingKube(data: Record<string, string> | undefined) {
  const reads: string[] = [];
  const kube = {
    read: async (_kind: unknown, key: { namespace: string; name: string }) => {
      reads.push(`${key.namespace}/${key.name}`);
      return data ? { metadata: { name: key.name }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])) } : undefined;
    },
  } as unknown as KubeClient;
  return { kube, reads };
}

describe("providerContext.readSecret", () => {
  it("reads a Secret once per reconcile however often the data plane asks", async () => {
    const { kube, reads } = countingKube({ url: "http://127.0.0.1:10000/devstoreaccount1" });
    const ctx = providerContext(kube, pino({ level: "silent" }), new Date(), new AbortController().signal);
    const [a, b] = await Promise.all([ctx.readSecret("ns", "aml-store"), ctx.readSecret("ns", "aml-store")]);
    await ctx.readSecret("ns", "aml-store");
    await ctx.readSecret("ns", "other");
    expect(a).toEqual({ url: "http://127.0.0.1:10000/devstoreaccount1" });
    expect(b).toBe(a);
    expect(reads).toEqual(["ns/aml-store", "ns/other"]);
    // The next reconcile's context reads it again (a changed Secret takes effect).
    await providerContext(kube, pino({ level: "silent" }), new Date(), new AbortController().signal).readSecret("ns", "aml-store");
    expect(reads).toHaveLength(3);
  });

  it("does not remember a failed read", async () => {
    let calls = 0;
    const kube = { read: async () => { if (++calls === 1) throw new Error("apiserver unavailable"); return undefined; } } as unknown as KubeClient;
    const ctx = providerContext(kube, pino({ level: "silent" }), new Date(), new AbortController().signal);
    await expect(ctx.readSecret("ns", "s")).rejects.toThrow("apiserver unavailable");
    await expect(ctx.readSecret("ns", "s")).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});
