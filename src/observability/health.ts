import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** One named readiness check; `ok: false` makes /readyz answer 503 with the detail. */
export type ReadinessCheck = () => { ok: boolean; detail?: string };

export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * /healthz answers 200 while the process can serve HTTP at all: liveness must not fail on API-server
 * blips or restarts cascade. /readyz answers 200 only when every check passes.
 */
export function startHealthServer(
  port: number, checks: Record<string, ReadinessCheck>, host = "0.0.0.0",
): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/livez") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (path === "/readyz") {
      const results = Object.entries(checks).map(([name, check]) => ({ name, ...check() }));
      const ok = results.every((r) => r.ok);
      const body = results.map((r) => `[${r.ok ? "+" : "-"}]${r.name} ${r.ok ? "ok" : `failed: ${r.detail ?? ""}`}`);
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(body.join("\n") + "\n");
      return;
    }
    res.writeHead(404).end();
  });
  return listen(server, port, host);
}

/** Prometheus scrape endpoint on its own port, as kubebuilder separates metrics from probes. */
export function startMetricsServer(port: number, registry: Registry, host = "0.0.0.0"): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    if ((req.url ?? "/").split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return listen(server, port, host);
}

function listen(server: Server, port: number, host: string): Promise<HttpEndpoint> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
