import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("elects a leader by default whenever it runs in a cluster, where another replica can appear", () => {
    expect(loadConfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1" }).leaderElection.enabled).toBe(true);
    expect(loadConfig({}).leaderElection.enabled).toBe(false);
    expect(loadConfig({ KUBERNETES_SERVICE_HOST: "10.96.0.1", LEADER_ELECT: "false" }).leaderElection.enabled).toBe(false);
    expect(loadConfig({ LEADER_ELECT: "true" }).leaderElection.enabled).toBe(true);
  });
});
