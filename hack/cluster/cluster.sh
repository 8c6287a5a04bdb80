#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for the project's tests.
#
#   hack/cluster/cluster.sh up       build or reuse binaries and images, start everything, wait for Ready
#   hack/cluster/cluster.sh down     stop what `up` started (by recorded pid), unmount, remove .cluster/
#   hack/cluster/cluster.sh status   what runs
#
# Components: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (its own
# instance: own socket, root and state under .cluster/), kubelet. Everything listens on 127.0.0.1.
# Pods get IPs from a bridge + host-local CNI on POD_SUBNET. There is no kube-proxy and no cluster
# DNS. See docs/cluster.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"

STATE="$ROOT/.cluster"
CACHE="${AML_CACHE_DIR:-$HOME/.cache/aml-compute-operator}"
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

COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet)

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }
tail_log() { local f="$LOGS/$1.log"; [[ -f $f ]] && { echo "----- last lines of $f -----" >&2; tail -n "${2:-40}" "$f" >&2; echo "-----" >&2; } || true; }

[[ $(id -u) -eq 0 ]] || die "must run as root (containerd, kubelet, mounts, iptables)"

kubectl_() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }
crictl_() { "$CRICTL_BIN/crictl" --config "$STATE/crictl.yaml" "$@"; }
ctr_() { ctr --address "$CTRD_SOCK" -n k8s.io "$@"; }

# ---------------------------------------------------------------------------------------------
# process bookkeeping: pid files hold "<pid> <starttime>" so a recycled pid is never taken for ours
# ---------------------------------------------------------------------------------------------
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }
pid_of() { # prints the pid if the recorded process is still the one we started
  local f="$PIDS/$1.pid" pid start
  [[ -f $f ]] || return 1
  read -r pid start <"$f" || return 1
  [[ -n ${pid:-} && -d /proc/$pid && "$(proc_start "$pid")" == "$start" ]] || return 1
  echo "$pid"
}
start_bg() { # name cmd...   runs in its own session, logs to .cluster/logs/name.log
  local name=$1; shift
  # Long-lived components inherit nothing but stdio: not this script's lock fds (8, 9), and not
  # a caller's pipes (a caller waiting for EOF would otherwise hang while the cluster runs).
  (
    for fd in $(ls /proc/$BASHPID/fd); do ((fd > 2)) && eval "exec $fd>&-"; done
    exec setsid "$@"
  ) >>"$LOGS/$name.log" 2>&1 </dev/null &
  local pid=$!
  sleep 0.05
  echo "$pid $(proc_start "$pid")" >"$PIDS/$name.pid"
}
stop_pid() { # name [timeout]
  local name=$1 t=${2:-20} pid i
  pid=$(pid_of "$name") || { rm -f "$PIDS/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
  if [[ -d /proc/$pid ]]; then log "$name (pid $pid) ignored SIGTERM for ${t}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$PIDS/$name.pid"
  log "stopped $name (pid $pid)"
}
wait_for() { # description timeout_seconds logname command...
  local what=$1 t=$2 lg=$3; shift 3
  local deadline=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      tail_log "$lg" 60
      die "timed out after ${t}s waiting for $what (log: $LOGS/$lg.log)"
    fi
    if [[ $lg != - ]] && [[ -f $PIDS/$lg.pid ]] && ! pid_of "$lg" >/dev/null; then
      tail_log "$lg" 60
      die "$lg exited while waiting for $what (log: $LOGS/$lg.log)"
    fi
    sleep 0.5
  done
}
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# ---------------------------------------------------------------------------------------------
# prerequisites: Debian packages, binaries (built with Go, cached per version), images
# ---------------------------------------------------------------------------------------------
ensure_packages() {
  local missing=() c
  declare -A need=([containerd]=containerd [runc]=runc [debootstrap]=debootstrap [iptables]=iptables
    [openssl]=openssl [curl]=curl [ss]=iproute2 [ip]=iproute2 [ctr]=containerd [unshare]=util-linux [flock]=util-linux)
  for c in "${!need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("${need[$c]}"); done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/firewall && -x /usr/lib/cni/loopback ]] ||
    missing+=(containernetworking-plugins)
  ((${#missing[@]})) || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >"$LOGS/apt.log" 2>&1 || {
    apt-get update >>"$LOGS/apt.log" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOGS/apt.log" 2>&1 || { tail_log apt; die "apt-get install ${missing[*]} failed"; }
  }
}

go_build_k8s() { # binaries missing from $K8S_BIN
  local mod="$HERE/k8s" pkgs=() b
  for b in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  local minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  local major=${K8S_VERSION#v}; major=${major%%.*}
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=$major"
  ld+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  local tmp="$K8S_BIN.tmp.$$"
  mkdir -p "$tmp"
  log "building Kubernetes $K8S_VERSION: $* (cold build: many minutes; log $LOGS/build-k8s.log)"
  (cd "$mod" && time GOFLAGS=-mod=mod go build -ldflags "$ld" -o "$tmp/" "${pkgs[@]}") >>"$LOGS/build-k8s.log" 2>&1 ||
    { rm -rf "$tmp"; tail_log build-k8s; die "Kubernetes build failed"; }
  mkdir -p "$K8S_BIN"
  for b in "$@"; do mv -f "$tmp/$b" "$K8S_BIN/$b"; done
  rm -rf "$tmp"
}

ensure_binaries() {
  command -v go >/dev/null 2>&1 || [[ -x $K8S_BIN/kubelet && -x $K8S_BIN/kubectl && -x $ETCD_BIN/etcd && -x $CRICTL_BIN/crictl ]] ||
    die "Go (>= 1.24, e.g. from go.dev; Debian 12's is too old) is needed for the first build of the cluster binaries"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.build.lock"
  flock -w 3600 9 || die "could not take the build lock $CACHE/.build.lock"
  local missing=() b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
    [[ -x $K8S_BIN/$b ]] || missing+=("$b")
  done
  ((${#missing[@]} == 0)) || go_build_k8s "${missing[@]}"
  if [[ ! -x $ETCD_BIN/etcd ]]; then
    log "building etcd $ETCD_VERSION (log $LOGS/build-etcd.log)"
    mkdir -p "$ETCD_BIN"
    (cd "$HERE/etcd" && time GOFLAGS=-mod=mod go build -ldflags "-s -w" -o "$ETCD_BIN/etcd.tmp" go.etcd.io/etcd/server/v3) \
      >>"$LOGS/build-etcd.log" 2>&1 || { tail_log build-etcd; die "etcd build failed"; }
    mv -f "$ETCD_BIN/etcd.tmp" "$ETCD_BIN/etcd"
  fi
  if [[ ! -x $CRICTL_BIN/crictl ]]; then
    log "building crictl $CRICTL_VERSION (log $LOGS/build-crictl.log)"
    mkdir -p "$CRICTL_BIN"
    (cd "$CACHE" && time GOBIN="$CRICTL_BIN" GOFLAGS=-mod=mod go install -ldflags "-s -w" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION") \
      >>"$LOGS/build-crictl.log" 2>&1 || { tail_log build-crictl; die "crictl build failed"; }
  fi
  flock -u 9
  exec 9>&-
}

# OCI image archive with one uncompressed layer, importable with `ctr images import`.
oci_archive() { # ref layer.tar image-config-json out.tar
  local ref=$1 layer=$2 cfg=$3 out=$4 tmp ldig lsize cdig csize mdig msize
  tmp=$(mktemp -d "$CACHE/tmp.oci.XXXXXX")
  mkdir -p "$tmp/blobs/sha256"
  ldig=$(sha256sum "$layer" | cut -d' ' -f1); lsize=$(stat -c %s "$layer")
  ln "$layer" "$tmp/blobs/sha256/$ldig" 2>/dev/null || cp "$layer" "$tmp/blobs/sha256/$ldig"
  printf '{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/cluster/cluster.sh"}]}' \
    "$cfg" "$ldig" >"$tmp/config"
  cdig=$(sha256sum "$tmp/config" | cut -d' ' -f1); csize=$(stat -c %s "$tmp/config"); mv "$tmp/config" "$tmp/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csize" "$ldig" "$lsize" >"$tmp/manifest"
  mdig=$(sha256sum "$tmp/manifest" | cut -d' ' -f1); msize=$(stat -c %s "$tmp/manifest"); mv "$tmp/manifest" "$tmp/blobs/sha256/$mdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$msize" "$ref" "${ref##*:}" >"$tmp/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"
  tar -C "$tmp" -cf "$out.tmp" oci-layout index.json blobs
  mv -f "$out.tmp" "$out"
  rm -rf "$tmp"
}

PAUSE_TAR=""
TRAINING_TAR=""
ensure_pause_image() {
  local key bin dir
  key=$(cat "$HERE/pause/main.go" "$HERE/pause/go.mod" | sha256sum | cut -c1-16)
  dir="$CACHE/images"; mkdir -p "$dir"
  PAUSE_TAR="$dir/aml-pause-3.10-$key.oci.tar"
  [[ -s $PAUSE_TAR ]] && return 0
  command -v go >/dev/null 2>&1 || die "Go is needed to build the pause image"
  log "building $PAUSE_IMAGE"
  local tmp; tmp=$(mktemp -d "$CACHE/tmp.pause.XXXXXX")
  mkdir -p "$tmp/rootfs"
  (cd "$HERE/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/rootfs/pause" .) >>"$LOGS/build-images.log" 2>&1 ||
    { rm -rf "$tmp"; tail_log build-images; die "pause build failed"; }
  tar -C "$tmp/rootfs" --numeric-owner --owner=0 --group=0 -cf "$tmp/layer.tar" pause
  oci_archive "$PAUSE_IMAGE" "$tmp/layer.tar" '{"Entrypoint":["/pause"],"User":"65535:65535","WorkingDir":"/"}' "$PAUSE_TAR"
  rm -rf "$tmp"
}

ensure_training_image() {
  local ca=/etc/ssl/certs/ca-certificates.crt key dir
  [[ -s $ca ]] || die "host CA bundle $ca missing (apt-get install ca-certificates)"
  # The cache key covers what goes into the image: suite, mirror, packages, host CA bundle, recipe.
  key=$( { echo "recipe-v1 $DEBIAN_SUITE $DEBIAN_MIRROR $TRAINING_PACKAGES"; cat "$ca"; sed -n '/^ensure_training_image()/,/^}/p' "$HERE/cluster.sh"; } | sha256sum | cut -c1-16)
  dir="$CACHE/images"; mkdir -p "$dir"
  TRAINING_TAR="$dir/aml-training-py3-$key.oci.tar"
  [[ -s $TRAINING_TAR ]] && return 0
  log "building $TRAINING_IMAGE with debootstrap ($DEBIAN_SUITE minbase + $TRAINING_PACKAGES; ~1 min; log $LOGS/build-images.log)"
  local tmp rootfs
  tmp=$(mktemp -d "$CACHE/tmp.training.XXXXXX"); rootfs="$tmp/rootfs"
  mkdir -p "$CACHE/debootstrap-debs"
  # debootstrap mounts /proc and /sys in the target; make sure nothing stays mounted on failure
  trap "umount_under '$tmp'" EXIT
  debootstrap --variant=minbase --include="$TRAINING_PACKAGES" --cache-dir="$CACHE/debootstrap-debs" \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >>"$LOGS/build-images.log" 2>&1 ||
    { tail_log build-images; die "debootstrap failed (mirror $DEBIAN_MIRROR)"; }
  trap - EXIT
  chroot "$rootfs" apt-get clean >>"$LOGS/build-images.log" 2>&1 || true
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
  # The host's CA bundle (it holds the egress CA that signs package-registry traffic here), also as
  # local CAs so that update-ca-certificates inside the image keeps them.
  cp "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  # A container is its own environment: let `pip install` work without a venv (PEP 668 marker).
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  : >"$rootfs/etc/resolv.conf"; echo aml-training >"$rootfs/etc/hostname"
  tar -C "$rootfs" --numeric-owner --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/info \
    --exclude=./usr/share/locale --exclude='./proc/*' --exclude='./sys/*' -cf "$tmp/layer.tar" .
  local envs='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","PYTHONUNBUFFERED=1"'
  envs+=',"PIP_DISABLE_PIP_VERSION_CHECK=1","PIP_ROOT_USER_ACTION=ignore","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"'
  envs+=',"PIP_CERT=/etc/ssl/certs/ca-certificates.crt","REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"'
  oci_archive "$TRAINING_IMAGE" "$tmp/layer.tar" "{\"Env\":[$envs],\"Cmd\":[\"python3\"],\"WorkingDir\":\"/\"}" "$TRAINING_TAR"
  rm -rf "$tmp"
  log "training image cached: $TRAINING_TAR ($(du -h "$TRAINING_TAR" | cut -f1))"
}

import_images() {
  local tarball ref
  for pair in "$PAUSE_IMAGE=$PAUSE_TAR" "$TRAINING_IMAGE=$TRAINING_TAR"; do
    ref=${pair%%=*}; tarball=${pair#*=}
    if ! ctr_ images ls -q 2>/dev/null | grep -qxF "$ref"; then
      ctr_ images import "$tarball" >>"$LOGS/images.log" 2>&1 || { tail_log images; die "importing $tarball failed"; }
    fi
    ctr_ images ls -q | grep -qxF "$ref" || die "image $ref not present after import (see $LOGS/images.log)"
  done
}

# ---------------------------------------------------------------------------------------------
# certificates and kubeconfigs
# ---------------------------------------------------------------------------------------------
gen_pki() {
  [[ -f $PKI/.done ]] && return 0
  mkdir -p "$PKI"; chmod 700 "$PKI"
  local o=(-sha256 -days 3650)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
    -subj "/CN=aml-cluster-ca" "${o[@]}" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  cert() { # name subject eku [san]
    local n=$1 subj=$2 eku=$3 san=${4:-}
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$n.key" -out "$PKI/$n.csr" -subj "$subj" 2>/dev/null
    {
      echo "basicConstraints=critical,CA:FALSE"
      echo "keyUsage=critical,digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=$eku"
      [[ -z $san ]] || echo "subjectAltName=$san"
    } >"$PKI/$n.ext"
    openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -extfile "$PKI/$n.ext" \
      -out "$PKI/$n.crt" "${o[@]}" 2>/dev/null
    rm -f "$PKI/$n.csr" "$PKI/$n.ext"
  }
  cert apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  cert admin "/O=system:masters/CN=aml-admin" clientAuth
  cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  cert scheduler "/CN=system:kube-scheduler" clientAuth
  cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  cert kubelet-server "/CN=$NODE_NAME" serverAuth "IP:127.0.0.1,DNS:localhost"
  # Front proxy (aggregated APIs): its own CA, as kubeadm does.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/front-proxy-ca.key" \
    -out "$PKI/front-proxy-ca.crt" -subj "/CN=aml-front-proxy-ca" "${o[@]}" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/front-proxy-client.key" \
    -out "$PKI/front-proxy-client.csr" -subj "/CN=front-proxy-client" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$PKI/fp.ext"
  openssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" \
    -CAcreateserial -extfile "$PKI/fp.ext" -out "$PKI/front-proxy-client.crt" "${o[@]}" 2>/dev/null
  rm -f "$PKI/front-proxy-client.csr" "$PKI/fp.ext"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
  touch "$PKI/.done"
}

write_kubeconfig() { # file user cert-name [embed]
  local f=$1 user=$2 n=$3 embed=${4:-}
  if [[ -n $embed ]]; then
    cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: aml-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$n.crt")
    client-key-data: $(base64 -w0 "$PKI/$n.key")
contexts:
- name: aml-local
  context: {cluster: aml-local, user: $user, namespace: default}
current-context: aml-local
EOF
  else
    cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: aml-local
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: $user
  user: {client-certificate: "$PKI/$n.crt", client-key: "$PKI/$n.key"}
contexts:
- name: aml-local
  context: {cluster: aml-local, user: $user}
current-context: aml-local
EOF
  fi
  chmod 600 "$f"
}

# ---------------------------------------------------------------------------------------------
# configuration files
# ---------------------------------------------------------------------------------------------
write_configs() {
  mkdir -p "$STATE/kubeconfigs" "$CTRD/root" "$CTRD/state" "$STATE/run" "$STATE/cni/net.d" "$STATE/cni/ipam" \
    "$STATE/certs.d" "$STATE/pod-logs" "$KUBELET_ROOT" "$STATE/sysctl"
  write_kubeconfig "$KUBECONFIG_ADMIN" aml-admin admin embed
  write_kubeconfig "$STATE/kubeconfigs/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  write_kubeconfig "$STATE/kubeconfigs/scheduler.kubeconfig" system:kube-scheduler scheduler
  write_kubeconfig "$STATE/kubeconfigs/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet-client

  # Nothing can be pulled: every registry a pull could go to points at a closed local port.
  local reg
  for reg in docker.io registry.k8s.io localhost quay.io ghcr.io gcr.io mcr.microsoft.com; do
    mkdir -p "$STATE/certs.d/$reg"
    printf 'server = "http://127.0.0.1:1"\n\n[host."http://127.0.0.1:1"]\n  capabilities = ["pull", "resolve"]\n' >"$STATE/certs.d/$reg/hosts.toml"
  done

  cat >"$CTRD/config.toml" <<EOF
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = "$STATE/run/containerd-debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$CTRD/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_IMAGE"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    tolerate_missing_hugetlb_controller = true
    disable_hugetlb_controller = true
    max_container_log_line_size = 16384
    netns_mounts_under_state_dir = true
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "$CTRD/runc"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$STATE/cni/net.d"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$STATE/certs.d"
EOF

  cat >"$STATE/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$STATE/cni/ipam"
      }
    },
    {"type": "firewall", "backend": "iptables"}
  ]
}
EOF

  cat >"$STATE/crictl.yaml" <<EOF
runtime-endpoint: unix://$CTRD_SOCK
image-endpoint: unix://$CTRD_SOCK
timeout: 30
EOF

  # Values the kubelet wants for the kernel tunables it manages (see start_kubelet).
  echo 1 >"$STATE/sysctl/vm.overcommit_memory"
  echo 0 >"$STATE/sysctl/vm.panic_on_oom"
  echo 10 >"$STATE/sysctl/kernel.panic"
  echo 1 >"$STATE/sysctl/kernel.panic_on_oops"
  echo 1000000 >"$STATE/sysctl/kernel.keys.root_maxkeys"
  echo 25000000 >"$STATE/sysctl/kernel.keys.root_maxbytes"

  cat >"$STATE/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$PKI/kubelet-server.crt"
tlsPrivateKeyFile: "$PKI/kubelet-server.key"
rotateCertificates: false
serverTLSBootstrap: false
containerRuntimeEndpoint: "unix://$CTRD_SOCK"
imageServiceEndpoint: "unix://$CTRD_SOCK"
cgroupDriver: cgroupfs
cgroupRoot: "$CGROUP_ROOT"
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: true
# Error instead of rewriting vm.overcommit_memory, kernel.panic, ...; start_kubelet shows the
# kubelet (and only the kubelet) the values it expects, so the host's tunables stay untouched.
protectKernelDefaults: true
oomScoreAdj: 0
podLogsDir: "$STATE/pod-logs"
volumePluginDir: "$KUBELET_ROOT/volume-plugins"
resolvConf: /etc/resolv.conf
# Imported images can never be pulled again: never garbage-collect images.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
imageMinimumGCAge: 87600h
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
  imagefs.inodesFree: "1%"
evictionPressureTransitionPeriod: 30s
maxPods: 110
serializeImagePulls: false
shutdownGracePeriod: 0s
shutdownGracePeriodCriticalPods: 0s
staticPodPath: ""
enableServer: true
makeIPTablesUtilChains: false
EOF
}

# ---------------------------------------------------------------------------------------------
# host plumbing owned by the cluster: cgroup root, pod bridge, ip_forward, kubelet root mount
# ---------------------------------------------------------------------------------------------
cgroup_dirs() { # every cgroup hierarchy mount point
  awk '$9=="cgroup" || $9=="cgroup2" {print $5}' /proc/self/mountinfo
}
setup_cgroup_root() {
  local h
  for h in $(cgroup_dirs); do
    mkdir -p "$h$CGROUP_ROOT"
    if [[ -f $h/cpuset.cpus && -f $h$CGROUP_ROOT/cpuset.cpus ]]; then
      [[ -n $(cat "$h$CGROUP_ROOT/cpuset.cpus") ]] || cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT/cpuset.cpus"
      [[ -n $(cat "$h$CGROUP_ROOT/cpuset.mems") ]] || cat "$h/cpuset.mems" >"$h$CGROUP_ROOT/cpuset.mems"
    fi
  done
}
setup_network() {
  # Pods reach the package registries through the bridge plugin's masquerade; that needs forwarding.
  local fwd; fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  [[ -f $STATE/ip_forward.orig ]] || echo "$fwd" >"$STATE/ip_forward.orig"
  [[ $fwd == 1 ]] || echo 1 >/proc/sys/net/ipv4/ip_forward
}
setup_kubelet_root() {
  # The kubelet runs in its own mount namespace (see start_kubelet); its root dir is a shared mount so
  # the volumes it mounts there (secrets, projected tokens) propagate to containerd's namespace.
  if ! mountpoint -q "$KUBELET_ROOT"; then
    mount --bind "$KUBELET_ROOT" "$KUBELET_ROOT"
  fi
  mount --make-rshared "$KUBELET_ROOT"
}

# ---------------------------------------------------------------------------------------------
# components
# ---------------------------------------------------------------------------------------------
check_port() { # port component
  port_free "$1" && return 0
  die "port 127.0.0.1:$1 (for $2) is already in use by something this script did not start: $(ss -Hltnp "sport = :$1" | head -1)"
}

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

wait_ready() {
  wait_for "node $NODE_NAME to register" 90 kubelet kubectl_ get node "$NODE_NAME"
  wait_for "node $NODE_NAME to be Ready" 120 kubelet \
    bash -c "'$K8S_BIN/kubectl' --kubeconfig '$KUBECONFIG_ADMIN' get node '$NODE_NAME' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
  wait_for "ServiceAccount default/default" 90 kube-controller-manager kubectl_ -n default get serviceaccount default
}

healthy() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
  [[ -f $KUBECONFIG_ADMIN ]] || return 1
  [[ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

ALL_PORTS=("$ETCD_PORT:etcd" "$ETCD_PEER_PORT:etcd" "$APISERVER_PORT:kube-apiserver" "10257:kube-controller-manager"
  "10259:kube-scheduler" "10250:kubelet" "10248:kubelet")
preflight() { # before anything is created: another cluster (e.g. from another checkout) holds the ports
  local p
  for p in "${ALL_PORTS[@]}"; do check_port "${p%%:*}" "${p#*:}"; done
}

cmd_up() {
  local t0=$SECONDS
  if [[ -d $STATE ]] && healthy; then
    log "cluster already up (node $NODE_NAME Ready); kubeconfig: $KUBECONFIG_ADMIN"
    return 0
  fi
  if [[ -d $STATE ]]; then
    log "found a partial or stopped cluster in $STATE: tearing it down first"
    cmd_down
  fi
  preflight
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  ensure_packages
  ensure_binaries
  ensure_pause_image
  ensure_training_image
  gen_pki
  write_configs
  # From here on this cluster owns the host-side pieces (cgroup root, bridge, ...); `down` only
  # touches them when this marker exists, so a failed preflight never tears down another cluster.
  touch "$STATE/owns-host-resources"
  setup_cgroup_root
  setup_network
  setup_kubelet_root
  start_etcd
  start_containerd
  import_images
  start_apiserver
  start_controller_manager
  start_scheduler
  start_kubelet
  wait_ready
  log "cluster up in $((SECONDS - t0))s"
  cat <<EOF
  kubeconfig:      export KUBECONFIG=$KUBECONFIG_ADMIN
  kubectl:         $K8S_BIN/kubectl
  node:            $NODE_NAME (Kubernetes $K8S_VERSION)
  images:          $PAUSE_IMAGE (sandbox), $TRAINING_IMAGE (python3, venv, pip) — use imagePullPolicy: IfNotPresent
  pod subnet:      $POD_SUBNET on bridge $BRIDGE (no kube-proxy, no cluster DNS)
  logs:            $LOGS
EOF
}

# ---------------------------------------------------------------------------------------------
# teardown
# ---------------------------------------------------------------------------------------------
umount_under() { local m; for m in $(mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done; }
mounts_under() { awk -v p="$1/" 'index($5, p) == 1 || $5 == substr(p, 1, length(p) - 1) {print $5}' /proc/self/mountinfo | sort -r; }

cmd_down() {
  local t0=$SECONDS
  if [[ ! -d $STATE ]]; then log "no cluster state at $STATE: nothing to do"; return 0; fi
  mkdir -p "$PIDS" "$LOGS"
  stop_pid kubelet 20
  if pid_of containerd >/dev/null && [[ -x $CRICTL_BIN/crictl ]]; then
    # Stopping the sandboxes through CRI runs CNI DEL (iptables rules, IPs) and unmounts netns/shm.
    local pods
    pods=$(crictl_ pods -q 2>/dev/null || true)
    if [[ -n $pods ]]; then
      log "removing $(wc -w <<<"$pods") pod sandbox(es)"
      # shellcheck disable=SC2086
      timeout 60 "$CRICTL_BIN/crictl" --config "$STATE/crictl.yaml" stopp $pods >/dev/null 2>&1 || log "crictl stopp failed (continuing)"
      # shellcheck disable=SC2086
      timeout 60 "$CRICTL_BIN/crictl" --config "$STATE/crictl.yaml" rmp -f $pods >/dev/null 2>&1 || log "crictl rmp failed (continuing)"
    fi
  fi
  stop_pid kube-scheduler 10
  stop_pid kube-controller-manager 10
  stop_pid kube-apiserver 10
  stop_pid etcd 20
  stop_pid containerd 20
  # Shims record their pid in containerd's state dir; any left over (only after a crash) are ours.
  local f pid
  for f in "$CTRD"/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    if [[ -n $pid && -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CTRD_SOCK"; then
      log "killing leftover containerd shim pid $pid"; kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [[ ! -f $STATE/owns-host-resources ]]; then
    umount_under "$STATE"
    [[ -z $(mounts_under "$STATE") ]] || die "mounts remain under $STATE: $(mounts_under "$STATE" | tr '\n' ' ')"
    rm -rf "$STATE"; log "cluster state removed (it never got as far as starting components)"; return 0
  fi
  # Leftover container processes live in the kubelet's cgroup root, which only this cluster uses.
  local h procs
  for h in $(cgroup_dirs); do
    [[ -d $h$CGROUP_ROOT ]] || continue
    procs=$(find "$h$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    if [[ -n $procs ]]; then
      log "killing leftover pod processes in $h$CGROUP_ROOT: $(echo $procs)"
      # shellcheck disable=SC2086
      kill -KILL $procs 2>/dev/null || true
    fi
  done
  sleep 0.2
  for h in $(cgroup_dirs); do
    [[ -d $h$CGROUP_ROOT ]] || continue
    find "$h$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [[ -d $h$CGROUP_ROOT ]] && log "warning: could not remove cgroup $h$CGROUP_ROOT"
  done
  # Mounts: kubelet root bind mount, volume tmpfs, container rootfs, shm, network namespaces.
  local m
  for m in $(mounts_under "$STATE"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"; done
  for m in $(mounts_under "$STATE"); do umount -l "$m" 2>/dev/null || true; done
  # Network: iptables rules of our CNI network (normally removed by CNI DEL), the pod bridge.
  local rule chain
  while read -r rule; do
    chain=$(sed -n 's/.* -j \(CNI-[0-9a-f]*\).*/\1/p' <<<"$rule")
    eval "iptables -t nat -D ${rule#-A }" 2>/dev/null || true
    [[ -z $chain ]] || { iptables -t nat -F "$chain" 2>/dev/null; iptables -t nat -X "$chain" 2>/dev/null; } || true
  done < <(iptables-save -t nat 2>/dev/null | grep -F "name: \\\"$CNI_NETWORK\\\"" | grep '^-A ' || true)
  while read -r rule; do
    eval "iptables -t filter -D ${rule#-A }" 2>/dev/null || true
  done < <(iptables-save -t filter 2>/dev/null | grep -E '^-A CNI-(FORWARD|ADMIN)? .*-[sd] 10\.244\.0\.' || true)
  # The firewall plugin leaves its (then empty) chains behind; remove them when nothing else uses them.
  if iptables -S CNI-ADMIN >/dev/null 2>&1 && [[ $(iptables -S CNI-ADMIN | wc -l) == 1 ]] &&
    [[ $(iptables -S CNI-FORWARD | grep -vc -- '-j CNI-ADMIN$') == 1 ]]; then
    iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null || true
    iptables -F CNI-FORWARD && iptables -X CNI-FORWARD && iptables -X CNI-ADMIN || log "warning: could not remove iptables chains CNI-FORWARD/CNI-ADMIN"
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 && { ip link del "$BRIDGE" && log "deleted bridge $BRIDGE"; }
  if [[ -f $STATE/ip_forward.orig ]]; then cat "$STATE/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward; fi
  # Paths the kubelet and containerd hard-code outside .cluster/: legacy log symlinks, the device
  # plugin socket, libcni's result cache, shim sockets. Remove what is ours, then directories only if empty.
  find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete 2>/dev/null || true
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
  rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /var/lib/cni/results /var/lib/cni /run/containerd/s \
    /run/containerd /var/log/containers /usr/libexec/kubernetes/kubelet-plugins/volume/exec \
    /usr/libexec/kubernetes/kubelet-plugins/volume /usr/libexec/kubernetes/kubelet-plugins /usr/libexec/kubernetes 2>/dev/null || true
  if [[ -n $(mounts_under "$STATE") ]]; then
    die "mounts remain under $STATE, not removing it: $(mounts_under "$STATE" | tr '\n' ' ')"
  fi
  rm -rf "$STATE"
  log "cluster down in $((SECONDS - t0))s"
}

cmd_status() {
  if [[ ! -d $STATE ]]; then echo "cluster: down (no $STATE)"; return 3; fi
  local c pid rc=0
  for c in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then printf '  %-24s running  pid %s\n' "$c" "$pid"; else printf '  %-24s stopped\n' "$c"; rc=3; fi
  done
  if pid_of kube-apiserver >/dev/null; then
    kubectl_ get nodes -o wide 2>&1 | sed 's/^/  /' || true
    kubectl_ get pods -A 2>&1 | sed 's/^/  /' | head -30 || true
  fi
  if pid_of containerd >/dev/null; then
    echo "  images (containerd namespace k8s.io):"; ctr_ images ls -q 2>&1 | grep -v '^sha256:' | sed 's/^/    /' || true
  fi
  echo "  kubeconfig: $KUBECONFIG_ADMIN"
  if ((rc == 0)) && healthy; then echo "cluster: up"; else echo "cluster: not healthy"; rc=3; fi
  return $rc
}

lock_cluster() { # one up/down at a time on this machine
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.cluster-ops.lock"
  flock -w 900 8 || die "another cluster.sh up/down has held $CACHE/.cluster-ops.lock for 15 minutes"
}

case "${1:-}" in
  up) lock_cluster; cmd_up ;;
  down) lock_cluster; cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
