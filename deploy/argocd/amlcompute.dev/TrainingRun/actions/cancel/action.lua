-- Cancels the run: the operator stops its Job / Azure job / remote process and ends it Canceled.
-- spec.cancel cannot be unset (CEL), and Argo CD self-heal leaves it alone (it is not in Git).
obj.spec.cancel = true
return obj
