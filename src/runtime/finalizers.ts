/** Pure finalizer helpers; the write itself goes through KubeClient.patchMetadata. */
interface WithFinalizers {
  metadata: { finalizers?: string[] };
}

export const hasFinalizer = (obj: WithFinalizers, finalizer: string): boolean =>
  obj.metadata.finalizers?.includes(finalizer) ?? false;

/** The finalizer list with `finalizer` appended once (order of the others preserved). */
export const withFinalizer = (obj: WithFinalizers, finalizer: string): string[] => {
  const current = obj.metadata.finalizers ?? [];
  return current.includes(finalizer) ? [...current] : [...current, finalizer];
};

/** The finalizer list without `finalizer`. */
export const withoutFinalizer = (obj: WithFinalizers, finalizer: string): string[] =>
  (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
