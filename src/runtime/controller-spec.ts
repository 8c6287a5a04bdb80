import type { KubeObject, ObjectKey, ResourceKind } from "../kube/types.js";
import type { Reconciler } from "./result.js";

/**
 * Declares one controller (one per kind, kubebuilder style). The manager starts an informer for
 * `forKind` and for every kind in `owns`/`watches`, maps their events to keys of `forKind`, and
 * feeds a de-duplicating rate-limited queue drained by `concurrency` workers.
 */
export interface ControllerSpec {
  /** Metric/log label, e.g. "trainingrun". */
  readonly name: string;
  /** Events of this kind enqueue the object's own key. */
  readonly forKind: ResourceKind;
  /**
   * Updates of forKind that change only its status do not enqueue it. For a controller whose every
   * reconcile writes something new (a probe time), its own write must not bring it straight back.
   */
  readonly ignoreStatusOnlyUpdates?: boolean;
  /** Events of these kinds enqueue the owner named by a `controller: true` ownerReference of forKind. */
  readonly owns?: readonly ResourceKind[];
  /** Events of these kinds enqueue whatever keys `map` returns (e.g. runs that reference a target). */
  readonly watches?: readonly WatchSpec[];
  readonly reconcile: Reconciler;
  /** Parallel workers; a key is still never reconciled twice at once. Default 1. */
  readonly concurrency?: number;
  /**
   * Keys for which this is true are reconciled before all others (checked whenever the key is
   * queued): e.g. runs already submitted, so a burst of new runs never delays their completion.
   */
  readonly isUrgent?: (key: ObjectKey) => boolean;
  /**
   * Only cache objects matching a label selector, keyed by kind name: `{ Pod: "app=x" }` (for
   * high-volume owned kinds like Pods). One cache per kind: if controllers ask for different
   * selectors for one kind, the manager caches all objects of that kind.
   */
  readonly labelSelectors?: Partial<Record<string, string>>;
}

export interface WatchSpec {
  readonly kind: ResourceKind;
  readonly map: (obj: KubeObject) => ObjectKey[];
  /** Only cache objects matching this label selector (e.g. "amlcompute.dev/run-uid"). */
  readonly labelSelector?: string;
  /**
   * Only names, labels and resourceVersions are needed (e.g. "a Secret someone references now
   * exists"): the cache holds PartialObjectMetadata, never the objects' data. When another
   * controller wants whole objects of the kind, whole objects are cached for both.
   */
  readonly metadataOnly?: boolean;
}
