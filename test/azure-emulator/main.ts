/**
 * Runs the ARM emulator and Azurite as a process for `make demo` and manual testing:
 *   tsx test/azure-emulator/main.ts --out .cluster/azure-emulator.json
 * Writes the operator settings (endpoints, CA bundle path) and a credentials Secret's data to
 * --out, then serves until SIGINT/SIGTERM. Loopback only.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startAzurite } from "./azurite.js";
import { startEmulator } from "./emulator.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    subscription: { type: "string", default: "00000000-0000-0000-0000-000000000001" },
    "resource-group": { type: "string", default: "rg-ml" },
    workspace: { type: "string", default: "ws-demo" },
    "provisioning-ms": { type: "string", default: "5000" },
  },
});

const azurite = await startAzurite();
const emu = await startEmulator({
  workspaces: [{ subscriptionId: values.subscription!, resourceGroup: values["resource-group"]!, name: values.workspace! }],
  provisioningMs: Number(values["provisioning-ms"]),
  azurite: { blobEndpoint: azurite.blobEndpoint, accountName: azurite.accountName, accountKey: azurite.accountKey },
});
const client = emu.clients[0]!;
const info = {
  operatorConfig: {
    armEndpoint: emu.url,
    authorityHost: emu.url,
    disableInstanceDiscovery: true,
    caBundlePath: emu.caPath,
    blobEndpointTemplate: `http://127.0.0.1:${azurite.port}/{account}`,
  },
  credentialsSecretData: { AZURE_TENANT_ID: emu.tenantId, AZURE_CLIENT_ID: client.clientId, AZURE_CLIENT_SECRET: client.clientSecret },
  workspace: { subscriptionId: values.subscription, resourceGroup: values["resource-group"], name: values.workspace },
  caBundleWithSystemRoots: emu.bundlePath,
};
if (values.out) writeFileSync(values.out, JSON.stringify(info, null, 2), { mode: 0o600 });
process.stdout.write(`ARM emulator on ${emu.url}, Azurite on ${azurite.blobEndpoint}${values.out ? `; settings in ${values.out}` : ""}\n`);

const stop = async () => {
  await emu.close();
  await azurite.close();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
