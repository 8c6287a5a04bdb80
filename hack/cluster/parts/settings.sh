# shellcheck shell=bash
# Names, addresses, ports and paths of the local cluster (sourced by hack/cluster/cluster.sh).
# shellcheck disable=SC2034  # used by the other parts

# A worktree may link .cluster to another checkout's: always work on the real directory (mount
# points in /proc/self/mountinfo are real paths, and `rm -rf` must never stop at a link).
STATE="$(readlink -f "$HACK_ROOT/.cluster")"
K8S_BIN="$CACHE/k8s-$K8S_VERSION/bin"
ETCD_BIN="$CACHE/etcd-$ETCD_VERSION/bin"
CRICTL_BIN="$CACHE/crictl-$CRICTL_VERSION/bin"

NODE_NAME=127.0.0.1            # kubelet refuses a loopback --node-ip, but takes an IP as hostname
POD_SUBNET=10.244.0.0/24
POD_GATEWAY=10.244.0.1
BRIDGE=amlbr0
CNI_NETWORK=aml-pods
SERVICE_CIDR=10.96.0.0/24
SERVICE_IP=10.96.0.1
CGROUP_ROOT=/aml-compute-cluster
APISERVER_PORT=6443
ETCD_PORT=2379
ETCD_PEER_PORT=2380

PKI="$STATE/pki"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
KUBELET_ROOT="$STATE/kubelet"
CTRD="$STATE/containerd"
CTRD_SOCK="$STATE/run/containerd.sock"
KUBECONFIG_ADMIN="$STATE/kubeconfig"

# Started and stopped in this order (stopped in reverse); `healthy` needs every one running.
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns)
# Ports (on 127.0.0.1) the core components need free before a cold start.
ALL_PORTS=("$ETCD_PORT:etcd" "$ETCD_PEER_PORT:etcd" "$APISERVER_PORT:kube-apiserver" "10257:kube-controller-manager"
  "10259:kube-scheduler" "10250:kubelet" "10248:kubelet" "10256:kube-proxy" "10249:kube-proxy" "53:coredns"
  "10054:coredns" "10055:coredns")

kubectl_() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }
crictl_() { "$CRICTL_BIN/crictl" --config "$STATE/crictl.yaml" "$@"; }
ctr_() { ctr --address "$CTRD_SOCK" -n "${CTR_NAMESPACE:-k8s.io}" "$@"; }
tail_log() { local f="$LOGS/$1.log"; if [[ -f $f ]]; then echo "----- last lines of $f -----" >&2; tail -n "${2:-40}" "$f" >&2; echo "-----" >&2; fi; }
