import { startAzurite, type Azurite } from "../../azure-emulator/azurite.js";
import { storeSettings } from "../../../src/data-plane/config.js";
import { DEFAULT_CONTAINERS } from "../../../src/data-plane/layout.js";
import { BlobStore } from "../../../src/data-plane/store.js";

export function connectionStringOf(az: Azurite): string {
  return `DefaultEndpointsProtocol=http;AccountName=${az.accountName};AccountKey=${az.accountKey};BlobEndpoint=${az.blobEndpoint};`;
}

/** A store on a fresh Azurite (one per test file), or on one the test started already: real Blob API, real SAS checks. */
export async function storeOnAzurite(existing?: Azurite): Promise<{ az: Azurite; store: BlobStore }> {
  const az = existing ?? await startAzurite();
  const settings = storeSettings({ connectionString: connectionStringOf(az) }, "test", { containers: DEFAULT_CONTAINERS, sasLifetimeMs: 3_600_000 });
  return { az, store: new BlobStore(settings) };
}
