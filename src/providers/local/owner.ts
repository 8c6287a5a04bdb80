import { apiVersionOf, type KubeObject } from "../../kube/types.js";
import { Kinds, type TrainingRun } from "../../api/v1alpha1/index.js";

/** Objects a run makes (Jobs, its store Secret) are owned by it: deleted with it by the garbage collector. */
export function ownerReferenceTo(run: TrainingRun): NonNullable<KubeObject["metadata"]["ownerReferences"]>[number] {
  return {
    apiVersion: apiVersionOf(Kinds.TrainingRun), kind: Kinds.TrainingRun.kind,
    name: run.metadata.name ?? "", uid: run.metadata.uid ?? "", controller: true, blockOwnerDeletion: true,
  };
}
