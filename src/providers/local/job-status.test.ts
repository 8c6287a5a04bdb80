import { describe, expect, it } from "vitest";
import { firstFailedPod, gangTimeout, type Job, type Pod } from "./job-status.js";

const now = new Date("2026-01-01T00:10:00Z");
const job: Job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j", creationTimestamp: "2026-01-01T00:00:00Z" } };
function pod(rank: number, status: Pod["status"]): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: `j-${rank}`, creationTimestamp: "2026-01-01T00:00:00Z", annotations: { "batch.kubernetes.io/job-completion-index": String(rank) } }, status };
}
const exited = (code: number, at: string): Pod["status"] => ({ containerStatuses: [{ name: "train", state: { terminated: { exitCode: code, finishedAt: at } } }] });
const running: Pod["status"] = { phase: "Running", containerStatuses: [{ name: "train", state: { running: {} } }] };
const pending = (since: string): Pod["status"] => ({
  phase: "Pending",
  conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.", lastTransitionTime: since }],
});

describe("firstFailedPod", () => {
  it("blames the rank that failed first, not the ranks stopped after it", () => {
    const pods = [pod(0, exited(143, "2026-01-01T00:05:02Z")), pod(1, exited(3, "2026-01-01T00:05:00Z")), pod(2, exited(0, "2026-01-01T00:04:00Z"))];
    expect(firstFailedPod(pods, "train")?.metadata.name).toBe("j-1");
    expect(firstFailedPod([pod(0, running)], "train")).toBeUndefined();
  });
});

describe("gangTimeout", () => {
  it("fails the attempt once a rank stayed unschedulable for the bound, naming it and the scheduler's reason", () => {
    const pods = [pod(0, running), pod(1, pending("2026-01-01T00:05:00Z"))];
    expect(gangTimeout(job, pods, { ranks: 2, boundSeconds: 600, now })).toBeUndefined();
    const why = gangTimeout(job, pods, { ranks: 2, boundSeconds: 300, now });
    expect(why).toContain("rank 1 of 2 not scheduled within 300s");
    expect(why).toContain("didn't match Pod's node affinity/selector");
  });

  it("fails the attempt when the Job could not create every rank's pod within the bound", () => {
    expect(gangTimeout(job, [pod(0, running)], { ranks: 2, boundSeconds: 300, now })).toContain("only 1 of 2 ranks have pods");
    expect(gangTimeout(job, [pod(0, running), pod(1, running)], { ranks: 2, boundSeconds: 300, now })).toBeUndefined();
  });
});
