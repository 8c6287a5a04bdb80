/**
 * SAS URLs for targets: read-only on the snapshots container, create/write on the runs container.
 * Service SAS when the store is reached with an account key; user-delegation SAS (signed by a key
 * the service issues to the operator's Entra identity) when it is reached with a token; a store
 * configured with a SAS passes that SAS on, as its owner scoped it. Container-level tokens without
 * list permission: a target can read an object only by knowing its sha256.
 */
import {
  ContainerSASPermissions, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential,
  type BlobServiceClient, type UserDelegationKey,
} from "@azure/storage-blob";
import type { StoreSettings } from "./config.js";

export type SasPermission = "read" | "write";

const CLOCK_SKEW_MS = 5 * 60_000;

/** Account name of a blob endpoint: the first host label, or the first path segment (Azurite, IP hosts). */
export function accountNameOf(url: string): string {
  const u = new URL(url);
  const first = u.pathname.split("/").filter(Boolean)[0];
  if (/^[\d.]+$|^localhost$|^\[/.test(u.hostname) || u.hostname.endsWith(".svc") || !u.hostname.includes(".")) return first ?? "";
  return u.hostname.split(".")[0] ?? "";
}

export class SasIssuer {
  private delegation?: { key: UserDelegationKey; validUntil: number };

  constructor(private readonly settings: StoreSettings, private readonly service: BlobServiceClient) {}

  /** `<targetUrl>/<container>?<sas>`; the container URL as targets reach it. */
  async containerUrl(container: string, permission: SasPermission, now: Date): Promise<string> {
    const base = `${this.settings.targetUrl}/${container}`;
    return `${base}?${await this.token(container, permission, now)}`;
  }

  private async token(container: string, permission: SasPermission, now: Date): Promise<string> {
    const auth = this.settings.auth;
    if (auth.kind === "sas") return auth.sas;
    const startsOn = new Date(now.getTime() - CLOCK_SKEW_MS);
    const expiresOn = new Date(now.getTime() + this.settings.sasLifetimeMs);
    const values = {
      containerName: container,
      permissions: ContainerSASPermissions.parse(permission === "read" ? "r" : "cw"),
      startsOn, expiresOn,
      protocol: this.settings.targetUrl.startsWith("https:") ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
    };
    if (auth.kind === "sharedKey") {
      return generateBlobSASQueryParameters(values, new StorageSharedKeyCredential(auth.accountName, auth.accountKey)).toString();
    }
    const key = await this.delegationKey(now, expiresOn);
    return generateBlobSASQueryParameters(values, key, accountNameOf(this.settings.url)).toString();
  }

  /** One user-delegation key serves many SAS; a new one when the cached one would expire first. */
  private async delegationKey(now: Date, until: Date): Promise<UserDelegationKey> {
    if (this.delegation && this.delegation.validUntil >= until.getTime()) return this.delegation.key;
    const startsOn = new Date(now.getTime() - CLOCK_SKEW_MS);
    // Keys live at most 7 days; ask for a day beyond this SAS so the next ones can reuse it.
    const expiresOn = new Date(Math.min(until.getTime() + 86_400_000, now.getTime() + 7 * 86_400_000 - CLOCK_SKEW_MS));
    const key = await this.service.getUserDelegationKey(startsOn, expiresOn);
    this.delegation = { key, validUntil: expiresOn.getTime() };
    return key;
  }
}
