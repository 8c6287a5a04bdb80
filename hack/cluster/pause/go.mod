// The kubelet's sandbox ("pause") process, built locally because no image can be pulled here.
module amlcompute.dev/hack/cluster/pause

go 1.24.0
