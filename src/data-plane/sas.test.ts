import type { BlobServiceClient, UserDelegationKey } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONTAINERS } from "./layout.js";
import { SasIssuer } from "./sas.js";

describe("SAS for a store reached with an Entra identity (no shared key)", () => {
  it("issues user-delegation SAS signed with the key the service gave the identity, asking for one key for many SAS", async () => {
    const asked: Date[] = [];
    const key = (startsOn: Date, expiresOn: Date): UserDelegationKey => ({
      signedObjectId: "11111111-aaaa-bbbb-cccc-222222222222", signedTenantId: "33333333-dddd-eeee-ffff-444444444444",
      signedStartsOn: startsOn, signedExpiresOn: expiresOn, signedService: "b", signedVersion: "2025-11-05",
      value: Buffer.from("delegation-key-for-tests").toString("base64"),
    });
    const service = { getUserDelegationKey: async (s: Date, e: Date) => { asked.push(e); return key(s, e); } } as unknown as BlobServiceClient;
    const url = "https://acct.blob.core.windows.net";
    const issuer = new SasIssuer({ url, targetUrl: url, containers: DEFAULT_CONTAINERS, auth: { kind: "token" }, from: "test", sasLifetimeMs: 3_600_000 }, service);
    const now = new Date("2026-01-01T00:00:00Z");
    const read = new URL(await issuer.containerUrl("aml-snapshots", "read", now));
    const write = new URL(await issuer.containerUrl("aml-runs", "write", now));
    expect(asked).toHaveLength(1);
    for (const [u, sp] of [[read, "r"], [write, "cw"]] as const) {
      expect(u.searchParams.get("skoid")).toBe("11111111-aaaa-bbbb-cccc-222222222222");
      expect(u.searchParams.get("sktid")).toBe("33333333-dddd-eeee-ffff-444444444444");
      expect(u.searchParams.get("sp")).toBe(sp);
      expect(u.searchParams.get("sig")).toBeTruthy();
    }
  });
});
