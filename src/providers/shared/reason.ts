import { isReason, type Reason } from "../../api/v1alpha1/index.js";

/** The reason an error carries when it is one of the API's reasons; `fallback` otherwise. */
export const reasonOr = (err: { reason: string }, fallback: Reason): Reason => (isReason(err.reason) ? err.reason : fallback);
