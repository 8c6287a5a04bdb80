// Workload identity federation per namespace, against the real API server: the operator asks for a
// token of the ServiceAccount in the target's own namespace (TokenRequest, audience
// api://AzureADTokenExchange, signed by the cluster's service-account key) and the emulated Entra
// exchanges it only for the app whose federated credential names that namespace's ServiceAccount.
import pino from "pino";
import { Registry } from "prom-client";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComputeTarget } from "../../../src/api/v1alpha1/index.js";
import { KubeClientImpl } from "../../../src/kube/client-node.js";
import type { ProviderContext } from "../../../src/providers/types.js";
import { TerminalError } from "../../../src/runtime/errors.js";
import { clusterKubeconfig, createNamespace, deleteNamespace, kubectl, requireCluster } from "../../cluster/kubectl.js";
import type { TrustedIssuer } from "../../azure-emulator/index.js";
import { makeTarget, reconcileUntil, startEnv, type Env } from "./harness.js";

const SA = "aml-workload-identity";
let env: Env;
let kube: KubeClientImpl;
let nsA = "";
let nsB = "";
const appA = randomUUID();

const inNamespace = (t: ComputeTarget, namespace: string): ComputeTarget => ({ ...t, metadata: { ...t.metadata, namespace } });
const ctx = (): ProviderContext => ({ ...env.ctx(), kube });
const federatedSecret = (extra: Record<string, string> = {}) => ({ AZURE_TENANT_ID: env.emu.tenantId, AZURE_CLIENT_ID: appA, ...extra });

describe("workload identity federation: a namespace can use only an identity bound to itself", () => {
  beforeAll(async () => {
    await requireCluster();
    [nsA, nsB] = await Promise.all([createNamespace("wi-a"), createNamespace("wi-b")]);
    for (const ns of [nsA, nsB]) await kubectl(["create", "serviceaccount", SA, "-n", ns]);
    env = await startEnv();
    // Entra trusts the cluster's service-account issuer (its OIDC discovery and keys, as published).
    const raw = async <T>(path: string): Promise<T> => JSON.parse((await kubectl(["get", "--raw", path])).stdout) as T;
    const { issuer } = await raw<{ issuer: string }>("/.well-known/openid-configuration");
    const jwks = await raw<TrustedIssuer["jwks"]>("/openid/v1/jwks");
    env.emu.controls.trustIssuer({ issuer, jwks });
    env.emu.controls.federate({ clientId: appA, issuer, subject: `system:serviceaccount:${nsA}:${SA}` });
    // Both namespaces name app A; only A's ServiceAccount is federated with it.
    env.secrets.set(`${nsA}/aml-azure-credentials`, federatedSecret());
    env.secrets.set(`${nsB}/aml-azure-credentials`, federatedSecret());
    kube = KubeClientImpl.fromFile(clusterKubeconfig, { logger: pino({ level: "silent" }), identity: "it-workload-identity", registry: new Registry() });
  });
  afterAll(async () => {
    await env?.close();
    await Promise.all([nsA, nsB].filter(Boolean).map(deleteNamespace));
  });

  it("the namespace's own ServiceAccount token is exchanged for its app: the compute is provisioned", async () => {
    const r = await reconcileUntil({ ...env, ctx }, env.provider(), inNamespace(makeTarget("wi-cluster"), nsA), { until: (o) => o.ready.status === "True" });
    expect(r.obs.ready).toMatchObject({ status: "True", reason: "Ready" });
    expect(env.emu.controls.tokensIssuedTo(appA)).toBeGreaterThan(0);
  });

  it("another namespace naming the same app is refused by Entra: its ServiceAccount is not federated (AuthenticationFailed, no ARM call)", async () => {
    const issued = env.emu.controls.tokensIssuedTo(appA);
    const since = env.emu.controls.requests.at(-1)?.seq ?? 0;
    const err = await env.provider().compute.ensure(inNamespace(makeTarget("wi-deputy"), nsB), ctx()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({ reason: "AuthenticationFailed", message: expect.stringContaining("70021") });
    expect(env.emu.controls.tokensIssuedTo(appA)).toBe(issued);
    expect(env.emu.controls.count({ since, path: /^\/subscriptions\// })).toBe(0);
  });

  it("a ServiceAccount that does not exist is ServiceAccountNotFound", async () => {
    env.secrets.set(`${nsA}/other-identity`, federatedSecret({ AZURE_SERVICE_ACCOUNT_NAME: "no-such-account" }));
    const target = inNamespace(makeTarget("wi-nosa", {}, { credentialsSecretRef: { name: "other-identity" } }), nsA);
    await expect(env.provider().compute.ensure(target, ctx())).rejects.toMatchObject({ reason: "ServiceAccountNotFound" });
  });
});
