# shellcheck shell=bash
# Services and cluster DNS, as in a real cluster: kube-proxy (iptables mode, the same Kubernetes
# version) turns Service IPs into DNAT rules; CoreDNS (built from hack/cluster/coredns) answers
# for cluster.local on the pod bridge's gateway and forwards every other name to the resolvers in
# the host's /etc/resolv.conf. The kube-dns Service (DNS_SERVICE_IP, what the kubelet writes into
# pods' resolv.conf) has no selector: its EndpointSlice names the gateway where CoreDNS listens.

DNS_SERVICE_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
# The version is the one hack/cluster/coredns/go.mod requires (one place to change it).
COREDNS_VERSION=$(awk '$1 == "require" && $2 == "github.com/coredns/coredns" {print $3}' "$HERE/coredns/go.mod")
COREDNS_BIN="$CACHE/coredns-$COREDNS_VERSION/bin"
COREDNS_HEALTH_PORT=10054
COREDNS_READY_PORT=10055
KUBE_PROXY_HEALTH_PORT=10256
KUBE_PROXY_METRICS_PORT=10249

ensure_coredns_binary() {
  [[ -x $COREDNS_BIN/coredns ]] && return 0
  command -v go >/dev/null 2>&1 || die "Go is needed for the first build of CoreDNS"
  log "building CoreDNS $COREDNS_VERSION (log $LOGS/build-coredns.log)"
  mkdir -p "$COREDNS_BIN"
  (cd "$HERE/coredns" && time GOFLAGS=-mod=mod go build -ldflags "-s -w" -o "$COREDNS_BIN/coredns.tmp" .) \
    >>"$LOGS/build-coredns.log" 2>&1 || { tail_log build-coredns; die "CoreDNS build failed"; }
  mv -f "$COREDNS_BIN/coredns.tmp" "$COREDNS_BIN/coredns"
}

write_dns_configs() {
  write_kubeconfig "$STATE/kubeconfigs/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  write_kubeconfig "$STATE/kubeconfigs/coredns.kubeconfig" system:coredns coredns
  # Pod-to-Service traffic between two pods on the same bridge needs bridged packets to pass
  # iptables (so the reply is un-NATed); where the kernel does not do that, masquerade all.
  local masquerade_all=false
  [[ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null) == 1 ]] || masquerade_all=true
  cat >"$STATE/kube-proxy.yaml" <<EOF2
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: "$STATE/kubeconfigs/kube-proxy.kubeconfig"
mode: iptables
clusterCIDR: "$POD_SUBNET"
hostnameOverride: "$NODE_NAME"
bindAddress: 127.0.0.1
healthzBindAddress: "127.0.0.1:$KUBE_PROXY_HEALTH_PORT"
metricsBindAddress: "127.0.0.1:$KUBE_PROXY_METRICS_PORT"
# Leave the host's conntrack tunables alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  masqueradeAll: $masquerade_all
  # No NodePorts on 127.0.0.1: that would need route_localnet=1 on the host.
  localhostNodePorts: false
EOF2
  cat >"$STATE/Corefile" <<EOF2
.:53 {
    bind $POD_GATEWAY
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    ready 127.0.0.1:$COREDNS_READY_PORT
    # Authoritative for the cluster domain and the pod and Service reverse zones: those names are
    # answered here (NXDOMAIN included) and never forwarded.
    kubernetes $CLUSTER_DOMAIN 0.96.10.in-addr.arpa 0.244.10.in-addr.arpa {
        kubeconfig "$STATE/kubeconfigs/coredns.kubeconfig" aml-local
        pods insecure
        ttl 5
    }
    cache 10
    loop
    forward . /etc/resolv.conf
}
EOF2
  cat >"$STATE/dns.yaml" <<EOF2
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: "aml:coredns"}
  rules:
  - {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: "aml:coredns"}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "aml:coredns"}
  subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}]
- apiVersion: v1
  kind: Service
  metadata:
    name: kube-dns
    namespace: kube-system
    labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
  spec:
    clusterIP: $DNS_SERVICE_IP
    ports:
    - {name: dns, port: 53, protocol: UDP, targetPort: 53}
    - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: kube-dns-host
    namespace: kube-system
    labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: aml-compute-cluster}
  addressType: IPv4
  endpoints: [{addresses: ["$POD_GATEWAY"], conditions: {ready: true}}]
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
EOF2
}

start_kube_proxy() {
  pid_of kube-proxy >/dev/null && return 0
  check_port "$KUBE_PROXY_HEALTH_PORT" kube-proxy
  check_port "$KUBE_PROXY_METRICS_PORT" kube-proxy
  start_bg kube-proxy "$K8S_BIN/kube-proxy" --config="$STATE/kube-proxy.yaml" --v=1
  wait_for "kube-proxy /healthz" 60 kube-proxy curl -fsS "http://127.0.0.1:$KUBE_PROXY_HEALTH_PORT/healthz"
}

start_coredns() {
  pid_of coredns >/dev/null && return 0
  kubectl_ apply --server-side --force-conflicts --field-manager=aml-compute-cluster -f "$STATE/dns.yaml" >>"$LOGS/coredns.log" 2>&1 ||
    { tail_log coredns; die "creating the kube-dns Service and CoreDNS's RBAC failed"; }
  start_bg coredns "$COREDNS_BIN/coredns" -conf "$STATE/Corefile"
  wait_for "CoreDNS /ready" 60 coredns curl -fsS "http://127.0.0.1:$COREDNS_READY_PORT/ready"
}

# Removes the KUBE-* iptables chains kube-proxy made (it leaves them when stopped).
cleanup_kube_proxy_rules() {
  [[ -x $K8S_BIN/kube-proxy ]] || return 0
  "$K8S_BIN/kube-proxy" --cleanup --v=1 >>"$LOGS/kube-proxy.log" 2>&1 || log "warning: kube-proxy --cleanup failed (see $LOGS/kube-proxy.log)"
}
