import { createPublicKey, verify, type JsonWebKey } from "node:crypto";

/** An OIDC issuer Entra trusts (a Kubernetes cluster's service-account issuer) with its signing keys. */
export interface TrustedIssuer {
  readonly issuer: string;
  readonly jwks: { readonly keys: readonly (JsonWebKey & { kid?: string })[] };
}

/** A federated identity credential of an app: tokens of `subject` from `issuer` sign in as `clientId`. */
export interface FederatedCredential {
  readonly clientId: string;
  readonly issuer: string;
  readonly subject: string;
}

/** The audience Entra requires on an assertion it exchanges. */
export const FEDERATION_AUDIENCE = "api://AzureADTokenExchange";

type Refusal = { readonly status: number; readonly error: string; readonly code: number; readonly description: string };

const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

/**
 * Entra's client-assertion check for workload identity federation, as the emulator plays it: the
 * assertion is a JWT whose signature verifies against the issuer's keys (RS256), unexpired, with
 * the federation audience, and some federated credential of `clientId` names its issuer and
 * subject. Returns why Entra refuses it (AADSTS-style), or undefined when it signs the app in.
 */
export function federationRefusal(assertion: string, clientId: string, trust: { readonly issuers: readonly TrustedIssuer[]; readonly credentials: readonly FederatedCredential[] }): Refusal | undefined {
  const { issuers, credentials } = trust;
  const refuse = (code: number, description: string): Refusal => ({ status: 401, error: "invalid_client", code, description });
  const parts = assertion.split(".");
  if (parts.length !== 3) return refuse(50027, "The client assertion is not a well-formed JWT.");
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decode(parts[0]!);
    claims = decode(parts[1]!);
  } catch {
    return refuse(50027, "The client assertion is not a well-formed JWT.");
  }
  const issuer = issuers.find((i) => i.issuer === claims.iss);
  if (!issuer) return refuse(700211, `No trusted issuer '${String(claims.iss)}' is configured for federation.`);
  const jwk = issuer.jwks.keys.find((k) => header.kid === undefined || k.kid === header.kid);
  const signed = jwk && header.alg === "RS256"
    && verify("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(parts[2]!, "base64url"));
  if (!signed) return refuse(700027, "The client assertion's signature does not verify against the issuer's keys.");
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(FEDERATION_AUDIENCE)) return refuse(700212, `The client assertion's audience is not ${FEDERATION_AUDIENCE}.`);
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) return refuse(700024, "The client assertion has expired.");
  const match = credentials.some((c) => c.clientId === clientId && c.issuer === claims.iss && c.subject === claims.sub);
  if (!match) return refuse(70021, `No federated identity credential of the application matches the assertion (issuer '${String(claims.iss)}', subject '${String(claims.sub)}').`);
  return undefined;
}
