/**
 * ARM benchmark against the emulator, through the real SDK and provider: requests
 * per provisioning, and a fleet of targets provisioned while ARM throttles (no request storm: the
 * per-subscription budget and Retry-After bound what is sent).
 */
import { makeTarget, reconcileUntil, startEnv } from "../test/integration/azureml/harness.js";

export interface AzureBench {
  singleProvisioning: { armRequests: number; byMethod: Record<string, number>; ensureCalls: number };
  throttledFleet: { targets: number; budget: string; injected429: number; armRequests: number; sent429: number; maxRequestsInAnySecond: number; seconds: number };
}

const armLog = (env: Awaited<ReturnType<typeof startEnv>>, since: number) =>
  env.emu.controls.requests.filter((r) => r.at >= since && r.path.includes("/subscriptions/"));

export async function benchAzure(): Promise<AzureBench> {
  const env = await startEnv();
  try {
    let since = Date.now();
    const single = await reconcileUntil(env, env.provider(), makeTarget("bench-one"), { until: (o) => o.ready.status === "True", timeoutMs: 30_000 });
    const one = armLog(env, since);
    const byMethod: Record<string, number> = {};
    for (const r of one) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;

    const targets = 10;
    const injected = 20;
    env.emu.controls.throttle(injected, 1);
    since = Date.now();
    // The operator's default budget (3 requests/s per subscription, burst 30), not the tests' roomy one.
    const provider = env.provider({ requestBudget: { perSecond: 3, burst: 30 } });
    await Promise.all(Array.from({ length: targets }, (_, i) =>
      reconcileUntil(env, provider, makeTarget(`bench-fleet-${i}`), { until: (o) => o.ready.status === "True", timeoutMs: 120_000, maxWaitMs: 5_000 })));
    const fleet = armLog(env, since);
    const perSecond = new Map<number, number>();
    for (const r of fleet) perSecond.set(Math.floor(r.at / 1000), (perSecond.get(Math.floor(r.at / 1000)) ?? 0) + 1);
    return {
      singleProvisioning: { armRequests: one.length, byMethod, ensureCalls: single.calls },
      throttledFleet: {
        targets, budget: "3/s, burst 30 (default)", injected429: injected, armRequests: fleet.length, sent429: fleet.filter((r) => r.status === 429).length,
        maxRequestsInAnySecond: Math.max(...perSecond.values()), seconds: (Date.now() - since) / 1000,
      },
    };
  } finally {
    await env.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchAzure(), null, 2));
}
