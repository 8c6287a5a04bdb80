# shellcheck shell=bash
# Configuration files of containerd, the CNI network, crictl and the kubelet.

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
clusterDNS: ["$DNS_SERVICE_IP"]
clusterDomain: $CLUSTER_DOMAIN
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
