export { startEmulator, isoDurationMs } from "./emulator.js";
export type { Emulator, EmulatorControls, EmulatorOptions, EmulatorWorkspace, Fault, JobStatus, RequestRecord } from "./emulator.js";
export { startAzurite, freePort, AZURITE_ACCOUNT, AZURITE_KEY } from "./azurite.js";
export type { Azurite } from "./azurite.js";
export { generateTls, type EmulatorTls } from "./tls.js";
export { FEDERATION_AUDIENCE, type FederatedCredential, type TrustedIssuer } from "./federation.js";
