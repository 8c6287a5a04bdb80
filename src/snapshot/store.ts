import { apiVersionOf, BuiltinKinds, type KubeObject } from "../kube/types.js";
import type { KubeClient } from "../kube/client.js";
import { Kinds, Labels, MANAGED_BY_VALUE, type TrainingRun } from "../api/v1alpha1/index.js";
import { ConflictError } from "../runtime/errors.js";
import type { Snapshot } from "../providers/types.js";

/**
 * The frozen snapshot of a run lives in a ConfigMap owned by the run: written once at the first
 * submit, read by every later attempt and mounted read-only by Local pods. File names become keys
 * f0000, f0001… (ConfigMap keys cannot hold '/'); manifest.json maps them back to paths.
 */
export const MANIFEST_KEY = "manifest.json";

export interface SnapshotManifest {
  digest: string;
  files: { key: string; path: string; mode?: number }[];
}

type ConfigMap = KubeObject & { data?: Record<string, string> };

export const snapshotConfigMapName = (runName: string): string => `${runName.slice(0, 240)}-snapshot`;

export function ownerReferenceTo(run: TrainingRun): NonNullable<KubeObject["metadata"]["ownerReferences"]>[number] {
  return {
    apiVersion: apiVersionOf(Kinds.TrainingRun), kind: Kinds.TrainingRun.kind,
    name: run.metadata.name ?? "", uid: run.metadata.uid ?? "", controller: true, blockOwnerDeletion: true,
  };
}

/** Keys are positional over the sorted file list, so the manifest follows from the snapshot alone. */
export function manifestOf(snapshot: Snapshot): SnapshotManifest {
  const files = snapshot.files.map((f, i) => ({ key: `f${String(i).padStart(4, "0")}`, path: f.path, ...(f.mode !== undefined ? { mode: f.mode } : {}) }));
  return { digest: snapshot.digest, files };
}

export function renderSnapshotConfigMap(run: TrainingRun, snapshot: Snapshot): ConfigMap {
  const manifest = manifestOf(snapshot);
  const files = manifest.files;
  return {
    apiVersion: "v1", kind: "ConfigMap",
    metadata: {
      name: snapshotConfigMapName(run.metadata.name ?? ""), namespace: run.metadata.namespace,
      labels: { [Labels.managedBy]: MANAGED_BY_VALUE, [Labels.runUid]: run.metadata.uid ?? "" },
      annotations: { "amlcompute.dev/snapshot-digest": snapshot.digest },
      ownerReferences: [ownerReferenceTo(run)],
    },
    data: {
      [MANIFEST_KEY]: JSON.stringify(manifest),
      ...Object.fromEntries(snapshot.files.map((f, i) => [files[i]!.key, f.content])),
    },
  };
}

export function parseSnapshotConfigMap(cm: ConfigMap): Snapshot & { manifest: SnapshotManifest } {
  const manifest = JSON.parse(cm.data?.[MANIFEST_KEY] ?? "{}") as SnapshotManifest;
  const files = manifest.files.map((f) => ({ path: f.path, content: cm.data?.[f.key] ?? "", ...(f.mode !== undefined ? { mode: f.mode } : {}) }));
  return { digest: manifest.digest, files, totalBytes: files.reduce((n, f) => n + Buffer.byteLength(f.content), 0), manifest };
}

/** Reads the run's frozen snapshot; undefined before the first submit. */
export async function loadFrozenSnapshot(kube: KubeClient, run: TrainingRun): Promise<Snapshot | undefined> {
  const cm = await kube.read<ConfigMap>(BuiltinKinds.ConfigMap, {
    namespace: run.metadata.namespace ?? "", name: snapshotConfigMapName(run.metadata.name ?? ""),
  });
  if (!cm || cm.metadata.ownerReferences?.[0]?.uid !== run.metadata.uid) return undefined;
  return parseSnapshotConfigMap(cm);
}

/** Freezes `snapshot` for the run; if one was frozen already (a restart), that one wins. */
export async function freezeSnapshot(kube: KubeClient, run: TrainingRun, snapshot: Snapshot): Promise<Snapshot> {
  try {
    await kube.create(BuiltinKinds.ConfigMap, renderSnapshotConfigMap(run, snapshot));
    return snapshot;
  } catch (err) {
    if (err instanceof ConflictError && err.alreadyExists) return (await loadFrozenSnapshot(kube, run)) ?? snapshot;
    throw err;
  }
}
