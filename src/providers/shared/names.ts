/**
 * A Kubernetes name as a fragment of an external resource name (Azure ML job, Batch job id, DBFS
 * path): lower case, runs of anything but [a-z0-9-] become "-", no leading or trailing "-".
 * Callers cut it to their service's limit and add the run UID, so fragments never need to be unique.
 */
export const sanitizeName = (name: string): string =>
  name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
