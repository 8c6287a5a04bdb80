#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, for the project's tests.
#
#   hack/cluster/cluster.sh up       build or reuse binaries and images, start everything, wait for Ready
#   hack/cluster/cluster.sh down     stop what `up` started (by recorded pid), unmount, remove .cluster/
#   hack/cluster/cluster.sh status   what runs
#   hack/cluster/cluster.sh prepare  build or install everything `up` needs, start nothing (cold-start timing, CI warm-up)
#   hack/cluster/cluster.sh check-import   import an image into an empty store and verify it (make test)
#
# Components: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (its own
# instance: own socket, root and state under .cluster/), kubelet, kube-proxy, CoreDNS; the
# embedded services Azurite and MLflow. Control-plane components listen on 127.0.0.1. Pods get IPs from a bridge +
# host-local CNI on POD_SUBNET. See docs/cluster.md.
#
# This file only orders the steps; each part under parts/ does one job.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=cluster
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
# shellcheck source=../rootfs.sh
source "$HERE/../rootfs.sh"
# shellcheck source=versions.env
source "$HERE/versions.env"
for part in settings procs binaries images pki configs host components dns services teardown checks; do
  # shellcheck source=/dev/null
  source "$HERE/parts/$part.sh"
done

need_root "containerd, kubelet, mounts, iptables"

HOST_PACKAGES=(containerd runc containernetworking-plugins iptables iproute2 openssl curl util-linux python3 python3-venv)

preflight() { # before anything is created: another cluster (e.g. from another checkout) holds the ports
  local p
  for p in "${ALL_PORTS[@]}"; do check_port "${p%%:*}" "${p#*:}"; done
}

cmd_up() {
  local t0=$SECONDS
  if [[ -d $STATE ]] && healthy; then
    start_services
    wait_services
    log "cluster already up (node $NODE_NAME Ready); kubeconfig: $KUBECONFIG_ADMIN"
    return 0
  fi
  if [[ -d $STATE ]]; then
    log "found a partial or stopped cluster in $STATE: tearing it down first"
    cmd_down
  fi
  preflight
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  apt_install_missing "${HOST_PACKAGES[@]}"
  start_services
  ensure_binaries
  ensure_pause_image
  ensure_training_image
  gen_pki
  write_configs
  write_dns_configs
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
  start_kube_proxy
  start_coredns
  wait_services
  log "cluster up in $((SECONDS - t0))s"
  cat <<EOF
  kubeconfig:      export KUBECONFIG=$KUBECONFIG_ADMIN
  kubectl:         $K8S_BIN/kubectl
  node:            $NODE_NAME (Kubernetes $K8S_VERSION)
  images:          $PAUSE_IMAGE (sandbox), $TRAINING_IMAGE (python3, venv, pip) — use imagePullPolicy: IfNotPresent
  pod subnet:      $POD_SUBNET on bridge $BRIDGE; Services through kube-proxy (iptables), DNS $DNS_SERVICE_IP ($CLUSTER_DOMAIN)
  services:        Azurite blob :$AZURITE_PORT, MLflow :$MLFLOW_PORT (addresses in $SERVICES_ENV)
  logs:            $LOGS
EOF
}

# Everything a first `up` builds or installs (packages, binaries, images, services), nothing
# started and no port taken; logs go to the cache folder's logs/.
cmd_prepare() {
  local t0=$SECONDS
  LOGS="$CACHE/logs"
  mkdir -p "$LOGS"
  apt_install_missing "${HOST_PACKAGES[@]}"
  ensure_binaries
  ensure_pause_image
  ensure_training_image
  install_services
  log "prepared in $((SECONDS - t0))s (cache $CACHE)"
}

cmd_down() {
  local t0=$SECONDS
  if [[ ! -d $STATE ]]; then
    log "no cluster state at $STATE: nothing to do"
    return 0
  fi
  mkdir -p "$PIDS" "$LOGS"
  stop_services
  stop_pid coredns 10
  stop_pid kube-proxy 10
  stop_pid kubelet 20
  remove_pod_sandboxes
  stop_pid kube-scheduler 10
  stop_pid kube-controller-manager 10
  stop_pid kube-apiserver 10
  stop_pid etcd 20
  stop_pid containerd 20
  kill_leftover_shims
  if [[ ! -f $STATE/owns-host-resources ]]; then
    umount_under "$STATE"
    remove_state
    log "cluster state removed (it never got as far as starting components)"
    return 0
  fi
  remove_cgroup_root
  unmount_state
  cleanup_kube_proxy_rules
  remove_pod_network
  remove_hardcoded_paths
  remove_state
  log "cluster down in $((SECONDS - t0))s"
}

cmd_status() {
  if [[ ! -d $STATE ]]; then
    echo "cluster: down (no $STATE)"
    return 3
  fi
  local c pid rc=0 images
  for c in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then printf '  %-24s running  pid %s\n' "$c" "$pid"; else printf '  %-24s stopped\n' "$c"; rc=3; fi
  done
  services_status
  if pid_of kube-apiserver >/dev/null; then
    kubectl_ get nodes -o wide 2>&1 | sed 's/^/  /' || true
    kubectl_ get pods -A 2>&1 | sed -n '1,30s/^/  /p' || true
  fi
  if pid_of containerd >/dev/null; then
    echo "  images (containerd namespace k8s.io):"
    images=$(ctr_ images ls -q 2>&1 || true)
    grep -v '^sha256:' <<<"$images" | sed 's/^/    /' || true
  fi
  echo "  kubeconfig: $KUBECONFIG_ADMIN"
  if ((rc == 0)) && healthy && services_healthy; then echo "cluster: up"; else
    echo "cluster: not healthy"
    rc=3
  fi
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
  prepare) cmd_prepare ;;
  check-import) cmd_check_import ;;
  *) echo "usage: $0 up|down|status|prepare|check-import" >&2; exit 2 ;;
esac
