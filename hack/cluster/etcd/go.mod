// Builds etcd for the local test cluster from the Go module proxy (the version Kubernetes 1.34 uses).
module amlcompute.dev/hack/cluster/etcd

go 1.24.0

require go.etcd.io/etcd/server/v3 v3.6.4
