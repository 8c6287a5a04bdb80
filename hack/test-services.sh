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

CACHE="${AML_CACHE_DIR:-$HOME/.cache/aml-compute-operator}"
STATE="$CACHE/test-services"
TEST_IMAGE="${AML_SSH_TEST_IMAGE:-localhost/aml-remotevm-test:py3}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$STATE"

say() { echo "test-services: $*"; }

apt_install_missing() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then say "packages present: $*"; return; fi
  say "apt-get install ${missing[*]}"
  # policy-rc.d on these machines blocks service starts; tests start sshd themselves anyway.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then say "docker engine already answers; using it"; return; fi
  say "starting dockerd (log $STATE/dockerd.log)"
  # Flags per DESIGN.md §3: no iptables/NAT changes, published ports on 127.0.0.1. Never
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

build_test_image() {
  if docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then say "image $TEST_IMAGE present"; return; fi
  local tar="$CACHE/images/aml-remotevm-test-py3.tar"
  if [[ ! -s "$tar" ]]; then
    apt_install_missing debootstrap
    local root="$CACHE/images/rootfs-py3.$$"
    mkdir -p "$CACHE/images"
    say "debootstrap a minbase Debian rootfs with python3 (about a minute)"
    debootstrap --variant=minbase --include=python3 bookworm "$root" "$DEBIAN_MIRROR" >"$STATE/debootstrap.log" 2>&1
    rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    tar -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$root"
  fi
  say "docker import $tar as $TEST_IMAGE"
  docker import "$tar" "$TEST_IMAGE" >/dev/null
}

up() {
  apt_install_missing openssh-server docker.io
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
    # dockerd leaves its default netns mount behind (testbed-notes §4).
    umount /var/run/docker/netns/default 2>/dev/null || true
  else
    say "nothing started by up is running"
  fi
}

status() {
  dpkg-query -W -f='${Package} ${Status}\n' openssh-server docker.io 2>/dev/null || true
  docker info >/dev/null 2>&1 && say "docker engine answers" || say "no docker engine"
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && say "image $TEST_IMAGE present" || say "image $TEST_IMAGE missing"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
