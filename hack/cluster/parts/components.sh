# shellcheck shell=bash
# Starting the components (each idempotent: a running one is left alone) and waiting for them.

start_etcd() {
  pid_of etcd >/dev/null && return 0
  check_port "$ETCD_PORT" etcd; check_port "$ETCD_PEER_PORT" etcd
  mkdir -p "$STATE/etcd"; chmod 700 "$STATE/etcd"
  start_bg etcd "$ETCD_BIN/etcd" --name aml --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "aml=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
    --unsafe-no-fsync --quota-backend-bytes 2147483648 --log-level warn
  wait_for "etcd health" 30 etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
}

cri_ready() {
  local c
  c=$(crictl_ info -o go-template --template '{{range .status.conditions}}{{.type}}={{.status}} {{end}}') || return 1
  [[ $c == *RuntimeReady=true* && $c == *NetworkReady=true* ]]
}
start_containerd() {
  pid_of containerd >/dev/null && return 0
  start_bg containerd containerd --config "$CTRD/config.toml"
  wait_for "containerd socket" 30 containerd ctr --address "$CTRD_SOCK" version
  wait_for "containerd CRI (RuntimeReady and NetworkReady)" 30 containerd cri_ready
}

start_apiserver() {
  pid_of kube-apiserver >/dev/null && return 0
  check_port "$APISERVER_PORT" kube-apiserver
  start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
    --advertise-address=127.0.0.1 --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC --allow-privileged=true \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --enable-admission-plugins=NodeRestriction --endpoint-reconciler-type=none --profiling=false --v=1
  wait_for "kube-apiserver /readyz" 90 kube-apiserver \
    curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://127.0.0.1:$APISERVER_PORT/readyz"
}

start_controller_manager() {
  pid_of kube-controller-manager >/dev/null && return 0
  check_port 10257 kube-controller-manager
  local kc="$STATE/kubeconfigs/controller-manager.kubeconfig"
  # "*" = every default controller, including job, garbage-collector, ttl-after-finished.
  start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
    --controllers='*' --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --allocate-node-cidrs=false --flex-volume-plugin-dir="$STATE/flexvolume" --profiling=false --v=1
  wait_for "kube-controller-manager /healthz" 60 kube-controller-manager curl -fsSk "https://127.0.0.1:10257/healthz"
}

start_scheduler() {
  pid_of kube-scheduler >/dev/null && return 0
  check_port 10259 kube-scheduler
  local kc="$STATE/kubeconfigs/scheduler.kubeconfig"
  start_bg kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false --v=1
  wait_for "kube-scheduler /healthz" 60 kube-scheduler curl -fsSk "https://127.0.0.1:10259/healthz"
}

start_kubelet() {
  pid_of kubelet >/dev/null && return 0
  check_port 10250 kubelet; check_port 10248 kubelet
  # The kubelet insists on vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1 (it would
  # rewrite them, or with protectKernelDefaults refuse to start). It runs in a private mount
  # namespace where those /proc/sys files are bind-mounted from files holding the expected values,
  # so it neither changes the host's kernel settings nor fails. `unshare` execs: the recorded pid is
  # the kubelet's own.
  local binds="" f
  for f in "$STATE"/sysctl/*; do
    binds+="mount --bind '$f' '/proc/sys/$(basename "$f" | tr . /)' && "
  done
  start_bg kubelet unshare --mount --propagation unchanged -- /bin/sh -c \
    "mount --make-rprivate /proc && $binds exec '$K8S_BIN/kubelet' \"\$@\"" kubelet \
    --config="$STATE/kubelet-config.yaml" --kubeconfig="$STATE/kubeconfigs/kubelet.kubeconfig" \
    --root-dir="$KUBELET_ROOT" --cert-dir="$PKI" --hostname-override="$NODE_NAME" --v=1
  wait_for "kubelet /healthz" 60 kubelet curl -fsS "http://127.0.0.1:10248/healthz"
}

node_ready() {
  [[ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

wait_ready() {
  wait_for "node $NODE_NAME to register" 90 kubelet kubectl_ get node "$NODE_NAME"
  wait_for "node $NODE_NAME to be Ready" 120 kubelet node_ready
  wait_for "ServiceAccount default/default" 90 kube-controller-manager kubectl_ -n default get serviceaccount default
}

# The core cluster (control plane, containerd, kubelet) runs and the node is Ready.
healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
  [[ -f $KUBECONFIG_ADMIN ]] || return 1
  node_ready
}
