# shellcheck shell=bash
# Host plumbing owned by the cluster while it is up: cgroup root, pod bridge and forwarding,
# kubelet root mount. `down` undoes it (teardown.sh).

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
