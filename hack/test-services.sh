#!/usr/bin/env bash
# Local services the integration tests need besides the cluster: openssh-server (the RemoteVM
# "VM" runs as a plain sshd process started by each test file), a Docker engine (Docker mode on
# the VM, testcontainers) and a tiny python image for Docker mode (nothing can be pulled here).
#
#   hack/test-services.sh up     install what is missing, start what is not running (idempotent)
#   hack/test-services.sh down   stop only what `up` started (recorded in the state dir)
#   hack/test-services.sh status
#
# Needs root for apt-get and dockerd. Prints every action it takes.
set -euo pipefail
LOG_TAG=test-services
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/rootfs.sh"

STATE="$CACHE/test-services"
TEST_IMAGE="${AML_SSH_TEST_IMAGE:-localhost/aml-remotevm-test:py3}"
mkdir -p "$STATE"

start_dockerd() {
  if docker info >/dev/null 2>&1; then say "docker engine already answers; using it"; return; fi
  say "starting dockerd (log $STATE/dockerd.log)"
  # No iptables/NAT changes to the host, published ports on 127.0.0.1 only. Never
  # --bridge=none: it deletes docker0 even when another daemon owns it.
  nohup dockerd --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --ip=127.0.0.1 \
    --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 </dev/null &
  echo "$!" >"$STATE/dockerd.started"
  for _ in $(seq 1 150); do
    docker info >/dev/null 2>&1 && { say "dockerd ready (pid $(cat "$STATE/dockerd.started"))"; return; }
    sleep 0.2
  done
  say "dockerd did not become ready in 30 s; see $STATE/dockerd.log"; exit 1
}

build_test_image() { # the shared Debian rootfs (python3, venv, pip) as a Docker image
  if docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then say "image $TEST_IMAGE present"; return; fi
  local tar
  tar=$(rootfs_tar "$STATE/rootfs.log")
  say "docker import $tar as $TEST_IMAGE"
  docker import "$tar" "$TEST_IMAGE" >/dev/null
}

up() {
  apt_install_missing openssh-server docker.io
  say "packages present: openssh-server docker.io"
  # spark-submit for the HDInsight tests needs a JRE (pyspark itself comes from PyPI).
  command -v java >/dev/null 2>&1 || apt_install_missing default-jre-headless
  mkdir -p /run/sshd # sshd running as root insists on its privilege separation directory
  start_dockerd
  build_test_image
  say "up"
}

down() {
  if [[ -f "$STATE/dockerd.started" ]]; then
    local pid; pid="$(cat "$STATE/dockerd.started")"
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping dockerd pid $pid (started by up)"
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$STATE/dockerd.started"
    # dockerd leaves its default netns mount behind.
    umount /var/run/docker/netns/default 2>/dev/null || true
  else
    say "nothing started by up is running"
  fi
}

status() {
  dpkg-query -W -f='${Package} ${Status}\n' openssh-server docker.io 2>/dev/null || true
  if docker info >/dev/null 2>&1; then say "docker engine answers"; else say "no docker engine"; fi
  if docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then say "image $TEST_IMAGE present"; else say "image $TEST_IMAGE missing"; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
