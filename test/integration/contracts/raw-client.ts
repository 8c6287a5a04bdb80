import { request } from "node:https";
import type { Emulator } from "../../azure-emulator/index.js";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/**
 * Plain HTTPS to the emulator, bypassing every SDK: the contract tests send exactly the bodies
 * they mean to (the SDKs would drop read-only fields or refuse wrong types before sending).
 */
export async function send(emu: Emulator, method: string, pathAndQuery: string, opts: { body?: unknown; bearer?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const url = new URL(pathAndQuery, emu.url);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return await new Promise((resolve, reject) => {
    const req = request(url, {
      method, ca: emu.caPem,
      headers: {
        ...(payload ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(payload)) } : {}),
        ...(opts.bearer ? { Authorization: `Bearer ${opts.bearer}` } : {}),
        ...opts.headers,
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch { /* not JSON: keep the text */ }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers[k] = v;
        resolve({ status: res.statusCode ?? 0, headers, body });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** An emulator-issued Entra token for `resource` (client credentials of the emulator's first client). */
export async function token(emu: Emulator, resource = "https://management.azure.com"): Promise<string> {
  const c = emu.clients[0]!;
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret, scope: `${resource}/.default` }).toString();
  const url = new URL(`/${emu.tenantId}/oauth2/v2.0/token`, emu.url);
  const r = await new Promise<RawResponse>((resolve, reject) => {
    const req = request(url, { method: "POST", ca: emu.caPem, headers: { "Content-Type": "application/x-www-form-urlencoded" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: {}, body: JSON.parse(Buffer.concat(chunks).toString()) as unknown }));
    });
    req.on("error", reject);
    req.end(form);
  });
  return (r.body as { access_token: string }).access_token;
}

/** The ARM error body's code and message (throws when the body is not one). */
export function armError(r: RawResponse): { code: string; message: string } {
  const e = (r.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (!e?.code || typeof e.message !== "string") throw new Error(`not an ARM error body: ${JSON.stringify(r.body)}`);
  return { code: e.code, message: e.message };
}
