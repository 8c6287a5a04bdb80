# shellcheck shell=bash
# Tearing the cluster down: pods through CRI, components by recorded pid, leftovers in the
# cluster's own cgroup, mounts under .cluster/, the pod network's iptables rules and bridge, and
# the paths the kubelet and containerd hard-code outside .cluster/.

umount_under() { local m; for m in $(mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done; }
mounts_under() { awk -v p="$1/" 'index($5, p) == 1 || $5 == substr(p, 1, length(p) - 1) {print $5}' /proc/self/mountinfo | sort -r; }

remove_pod_sandboxes() {
  pid_of containerd >/dev/null && [[ -x $CRICTL_BIN/crictl ]] || return 0
  # Stopping the sandboxes through CRI runs CNI DEL (iptables rules, IPs) and unmounts netns/shm.
  local pods
  pods=$(crictl_ pods -q 2>/dev/null || true)
  [[ -n $pods ]] || return 0
  log "removing $(wc -w <<<"$pods") pod sandbox(es)"
  # shellcheck disable=SC2086 # one argument per pod id
  timeout 60 "$CRICTL_BIN/crictl" --config "$STATE/crictl.yaml" stopp $pods >/dev/null 2>&1 || log "crictl stopp failed (continuing)"
  # shellcheck disable=SC2086
  timeout 60 "$CRICTL_BIN/crictl" --config "$STATE/crictl.yaml" rmp -f $pods >/dev/null 2>&1 || log "crictl rmp failed (continuing)"
}

kill_leftover_shims() { # shims record their pid in containerd's state dir; any left over (only after a crash) are ours
  local f pid cmdline
  for f in "$CTRD"/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || continue
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    if [[ $cmdline == *"$CTRD_SOCK"* ]]; then
      log "killing leftover containerd shim pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

remove_cgroup_root() { # leftover container processes live in the kubelet's cgroup root, which only this cluster uses
  local h procs
  for h in $(cgroup_dirs); do
    [[ -d $h$CGROUP_ROOT ]] || continue
    procs=$(find "$h$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    if [[ -n $procs ]]; then
      log "killing leftover pod processes in $h$CGROUP_ROOT: ${procs//$'\n'/ }"
      # shellcheck disable=SC2086 # one argument per pid
      kill -KILL $procs 2>/dev/null || true
    fi
  done
  sleep 0.2
  for h in $(cgroup_dirs); do
    [[ -d $h$CGROUP_ROOT ]] || continue
    find "$h$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [[ -d $h$CGROUP_ROOT ]] && log "warning: could not remove cgroup $h$CGROUP_ROOT"
  done
  return 0
}

unmount_state() { # kubelet root bind mount, volume tmpfs, container rootfs, shm, network namespaces
  local m
  for m in $(mounts_under "$STATE"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"; done
  for m in $(mounts_under "$STATE"); do umount -l "$m" 2>/dev/null || true; done
}

remove_pod_network() { # iptables rules of our CNI network (normally removed by CNI DEL), the pod bridge
  local rule chain rules
  rules=$(iptables-save -t nat 2>/dev/null || true)
  while read -r rule; do
    [[ $rule == "-A "* && $rule == *"name: \\\"$CNI_NETWORK\\\""* ]] || continue
    chain=$(sed -n 's/.* -j \(CNI-[0-9a-f]*\).*/\1/p' <<<"$rule")
    eval "iptables -t nat -D ${rule#-A }" 2>/dev/null || true
    [[ -z $chain ]] || { iptables -t nat -F "$chain" 2>/dev/null; iptables -t nat -X "$chain" 2>/dev/null; } || true
  done <<<"$rules"
  rules=$(iptables-save -t filter 2>/dev/null || true)
  while read -r rule; do
    [[ $rule =~ ^-A\ CNI-(FORWARD|ADMIN)?\ .*-[sd]\ 10\.244\.0\. ]] || continue
    eval "iptables -t filter -D ${rule#-A }" 2>/dev/null || true
  done <<<"$rules"
  # The firewall plugin leaves its (then empty) chains behind; remove them when nothing else uses them.
  local admin fwd
  admin=$(iptables -S CNI-ADMIN 2>/dev/null || true)
  fwd=$(iptables -S CNI-FORWARD 2>/dev/null || true)
  if [[ -n $admin && $(wc -l <<<"$admin") == 1 && $(grep -vc -- '-j CNI-ADMIN$' <<<"$fwd") == 1 ]]; then
    iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null || true
    if ! { iptables -F CNI-FORWARD && iptables -X CNI-FORWARD && iptables -X CNI-ADMIN; }; then
      log "warning: could not remove iptables chains CNI-FORWARD/CNI-ADMIN"
    fi
  fi
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" && log "deleted bridge $BRIDGE"; fi
  if [[ -f $STATE/ip_forward.orig ]]; then cat "$STATE/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward; fi
}

remove_hardcoded_paths() {
  # Paths the kubelet and containerd hard-code outside .cluster/: legacy log symlinks, the device
  # plugin socket, libcni's result cache, shim sockets. Remove what is ours, then directories only if empty.
  find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete 2>/dev/null || true
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
  rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /var/lib/cni/results /var/lib/cni /run/containerd/s \
    /run/containerd /var/log/containers /usr/libexec/kubernetes/kubelet-plugins/volume/exec \
    /usr/libexec/kubernetes/kubelet-plugins/volume /usr/libexec/kubernetes/kubelet-plugins /usr/libexec/kubernetes 2>/dev/null || true
}

remove_state() {
  [[ -z $(mounts_under "$STATE") ]] || die "mounts remain under $STATE, not removing it: $(mounts_under "$STATE" | tr '\n' ' ')"
  rm -rf "$STATE"
}
