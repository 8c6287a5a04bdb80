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
# A fixed, locally administered MAC for the bridge, made of the gateway's IPv4 bytes.
gateway_mac() {
  local a b c d
  IFS=. read -r a b c d <<<"$POD_GATEWAY"
  printf '02:42:%02x:%02x:%02x:%02x\n' "$a" "$b" "$c" "$d"
}
setup_network() {
  # Pods reach the package registries through the bridge plugin's masquerade; that needs forwarding.
  local fwd; fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  [[ -f $STATE/ip_forward.orig ]] || echo "$fwd" >"$STATE/ip_forward.orig"
  [[ $fwd == 1 ]] || echo 1 >/proc/sys/net/ipv4/ip_forward
  # The bridge with its gateway address exists before the first pod (the CNI bridge plugin reuses
  # it): CoreDNS binds to that address, and the embedded services answer there, from the start.
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  # A bridge without an address of its own takes the lowest MAC of its ports, so it changes as pods
  # come and go: every pod's cached gateway MAC goes stale and its traffic to the host (the store,
  # MLflow, DNS) stalls until its ARP entry expires, a minute at worst. A set address stays put.
  ip link set "$BRIDGE" address "$(gateway_mac)"
  local addrs
  addrs=$(ip -4 -o addr show dev "$BRIDGE")
  [[ $addrs == *" $POD_GATEWAY/"* ]] || ip addr add "$POD_GATEWAY/${POD_SUBNET#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}
setup_kubelet_root() {
  # The kubelet runs in its own mount namespace (see start_kubelet); its root dir is a shared mount so
  # the volumes it mounts there (secrets, projected tokens) propagate to containerd's namespace.
  if ! mountpoint -q "$KUBELET_ROOT"; then
    mount --bind "$KUBELET_ROOT" "$KUBELET_ROOT"
  fi
  mount --make-rshared "$KUBELET_ROOT"
}
