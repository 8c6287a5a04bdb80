/**
 * Composition root: config → logger → kube → providers → controllers → manager. No logic here.
 */
import { Registry } from "prom-client";
import { loadConfig } from "./config.js";
import { computeTargetController } from "./controllers/compute-target/controller.js";
import { runConfigurationController } from "./controllers/run-configuration/controller.js";
import { trainingRunController } from "./controllers/training-run/controller.js";
import { DataPlane } from "./data-plane/data-plane.js";
import { RunData } from "./data-plane/run-data.js";
import { KubeClientImpl } from "./kube/client-node.js";
import { createLogger } from "./observability/logger.js";
import { operatorProviders } from "./providers/registry.js";
import { systemClock } from "./runtime/clock.js";
import { RunMetricsService } from "./metrics/service.js";
import { trackingAuth } from "./metrics/auth.js";
import { sweepController } from "./controllers/sweep/controller.js";
import { SuggestionProcess } from "./sweep/suggestion/client.js";
import { LeaderElectionLostError, Manager } from "./runtime/manager.js";

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, base: { identity: config.identity } });
  const registry = new Registry();
  const kubeOpts = {
    logger, registry, identity: config.identity, rateLimit: config.apiRateLimit, http2: config.apiHttp2, ...(config.watchNamespace ? { watchNamespace: config.watchNamespace } : {}),
  };
  const kube = config.kubeconfig ? KubeClientImpl.fromFile(config.kubeconfig, kubeOpts) : KubeClientImpl.fromDefault(kubeOpts);
  const providers = operatorProviders({ azureml: config.azureml, hdInsight: config.hdInsight, local: config.localTargets });
  const manager = new Manager({
    kube, logger, metricsRegistry: registry, healthPort: config.healthPort, metricsPort: config.metricsPort,
    ...(config.leaderElection.enabled
      ? { leaderElection: { namespace: config.leaderElection.namespace, name: config.leaderElection.name, identity: config.identity } }
      : {}),
  });
  const deps = { kube, providers, clock: systemClock };
  manager.add(computeTargetController(deps));
  manager.add(runConfigurationController(deps));
  // Metrics: MLflow runs for Local/RemoteVM/Databricks, reads from every tracking service, off the hot path.
  const metrics = new RunMetricsService({
    tracking: config.tracking, now: () => systemClock.now(), auth: trackingAuth(config.azureml), reconcilingSince: () => manager.reconcilingSince(),
  });
  manager.add(trainingRunController({ ...deps, concurrency: config.trainingRunConcurrency, runData: new RunData(new DataPlane(config.dataPlane)), metrics }));
  // Bayesian sweeps: one stateless Optuna process, started on first use and restarted when it dies.
  const suggester = new SuggestionProcess({ python: config.suggestionPython, onRestart: () => logger.warn("Restarting the suggestion process") });
  manager.add(sweepController({ kube, clock: systemClock, suggester }));
  manager.stopOnSignals();
  logger.info({ config: { ...config } }, "Starting aml-compute-operator");
  try {
    await manager.start();
  } finally {
    providers.close();
    suggester.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(JSON.stringify({ level: "fatal", msg: "Operator stopped", err: String(err instanceof Error ? err.stack : err) }));
    process.exit(err instanceof LeaderElectionLostError ? 2 : 1);
  },
);
