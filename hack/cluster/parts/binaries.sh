# shellcheck shell=bash
# The cluster's binaries, built with Go from the Go module proxy once per pinned version and kept
# in the cache folder: Kubernetes (hack/cluster/k8s pins k8s.io/kubernetes and its staging
# modules), etcd (hack/cluster/etcd), crictl, CoreDNS (hack/cluster/coredns, built by dns.sh).

K8S_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy)

go_build_k8s() { # binaries missing from $K8S_BIN
  local mod="$HERE/k8s" pkgs=() b
  for b in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  local minor=${K8S_VERSION#v*.}
  minor=${minor%%.*}
  local major=${K8S_VERSION#v}
  major=${major%%.*}
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

go_install_tool() { # name dir module@version   `go install` into a versioned cache folder
  local name=$1 dir=$2 pkg=$3
  [[ -x $dir/$name ]] && return 0
  log "building $name ($pkg; log $LOGS/build-$name.log)"
  mkdir -p "$dir"
  (cd "$CACHE" && time GOBIN="$dir" GOFLAGS=-mod=mod go install -ldflags "-s -w" "$pkg") \
    >>"$LOGS/build-$name.log" 2>&1 || { tail_log "build-$name"; die "$name build failed"; }
}

ensure_binaries() {
  local b missing=()
  for b in "${K8S_COMPONENTS[@]}"; do [[ -x $K8S_BIN/$b ]] || missing+=("$b"); done
  [[ -x $ETCD_BIN/etcd && -x $CRICTL_BIN/crictl && -x $COREDNS_BIN/coredns ]] || missing+=(etcd-crictl-or-coredns)
  ((${#missing[@]})) || return 0
  command -v go >/dev/null 2>&1 ||
    die "Go (>= 1.24, e.g. from go.dev; Debian 12's is too old) is needed for the first build of the cluster binaries"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.build.lock"
  flock -w 3600 9 || die "could not take the build lock $CACHE/.build.lock"
  missing=()
  for b in "${K8S_COMPONENTS[@]}"; do [[ -x $K8S_BIN/$b ]] || missing+=("$b"); done
  ((${#missing[@]} == 0)) || go_build_k8s "${missing[@]}"
  if [[ ! -x $ETCD_BIN/etcd ]]; then
    log "building etcd $ETCD_VERSION (log $LOGS/build-etcd.log)"
    mkdir -p "$ETCD_BIN"
    (cd "$HERE/etcd" && time GOFLAGS=-mod=mod go build -ldflags "-s -w" -o "$ETCD_BIN/etcd.tmp" go.etcd.io/etcd/server/v3) \
      >>"$LOGS/build-etcd.log" 2>&1 || { tail_log build-etcd; die "etcd build failed"; }
    mv -f "$ETCD_BIN/etcd.tmp" "$ETCD_BIN/etcd"
  fi
  go_install_tool crictl "$CRICTL_BIN" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  ensure_coredns_binary
  flock -u 9
  exec 9>&-
}
