/**
 * Where things live in the store (one storage account per namespace or operator):
 *
 *   aml-snapshots/objects/sha256/<hex>        file contents, stored once by sha256
 *   aml-snapshots/manifests/<hex>.json         a snapshot manifest; <hex> is the snapshot digest
 *   aml-runs/<namespace>/<run>-<uid>/attempt-<n>/outputs/<path>   what the script left in ./outputs
 *   aml-runs/<namespace>/<run>-<uid>/attempt-<n>/logs/output.log  its stdout and stderr
 *   aml-runs/<namespace>/<run>-<uid>/attempt-<n>/metrics.jsonl    every metric report, one JSON per line
 *   aml-runs/<namespace>/<run>-<uid>/attempt-<n>/result.json      written last by the runner
 */
export interface Containers { readonly snapshots: string; readonly runs: string }

export const DEFAULT_CONTAINERS: Containers = { snapshots: "aml-snapshots", runs: "aml-runs" };

export const objectBlobName = (hex: string): string => `objects/sha256/${hex}`;
export const manifestBlobName = (hex: string): string => `manifests/${hex}.json`;

export interface RunIdentity { readonly namespace: string; readonly name: string; readonly uid: string }

/** Everything of one TrainingRun (all attempts); deleted with the run. Ends with "/". */
export const runRootPrefix = (run: RunIdentity): string => `${run.namespace}/${run.name}-${run.uid}/`;

/** One attempt's outputs, log and result. Ends with "/". */
export const attemptPrefix = (run: RunIdentity, attempt: number): string => `${runRootPrefix(run)}attempt-${attempt}/`;

export const OUTPUTS_DIR = "outputs";
export const LOG_BLOB = "logs/output.log";
export const RESULT_BLOB = "result.json";
/** Written by the runner (aml_runner.py METRICS_BLOB) when the script reported metrics. */
export const METRICS_BLOB = "metrics.jsonl";

/** Blob names are URL paths: each segment percent-encoded (UTF-8), the slashes kept. */
export const encodeBlobPath = (path: string): string => path.split("/").map(encodeURIComponent).join("/");
