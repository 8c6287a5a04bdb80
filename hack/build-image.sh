#!/usr/bin/env bash
# Builds the operator image offline and imports it into the local cluster's containerd:
#   1. a local Node 24 base image: a Debian bookworm minbase rootfs (the cached test/training rootfs
#      when present, else debootstrap) + the node binary that hack/node.sh installs + npm, via
#      `docker import` (nothing can be pulled here);
#   2. `docker build --build-arg NODE_IMAGE=<that base>` of the repo's Dockerfile (legacy builder,
#      host network so `npm ci` reaches the registry);
#   3. `docker save | ctr -n k8s.io images import` into the cluster (hack/cluster/cluster.sh's socket).
# Prints the image reference on stdout; progress goes to stderr. Needs root (debootstrap, dockerd).
# The cluster's containerd keeps its state under .cluster/ in the checkout: remove the image when
# done (ctr -n k8s.io images rm --sync <image> sha256:<image id>), as the e2e test does.
#   IMAGE=localhost/aml-compute-operator:dev hack/build-image.sh [--no-import]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${AML_CACHE_DIR:-$HOME/.cache/aml-compute-operator}"
IMAGE="${IMAGE:-localhost/aml-compute-operator:dev}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CTRD_SOCK="$ROOT/.cluster/run/containerd.sock"
say() { echo "build-image: $*" >&2; }
die() { say "$*"; exit 1; }

NODE_BIN=$("$ROOT/hack/node.sh")
NODE_VERSION=$("$NODE_BIN/node" --version | sed 's/^v//')
NPM_VERSION="${NPM_VERSION:-11.6.2}"
BASE_IMAGE="localhost/aml-node:${NODE_VERSION}-bookworm"

ensure_docker() {
  docker info >/dev/null 2>&1 && return
  say "no Docker engine answers; starting one with hack/test-services.sh up"
  "$ROOT/hack/test-services.sh" up >&2
}

# A plain Debian bookworm minbase rootfs tarball, cached.
base_rootfs() {
  local tar="$CACHE/images/debian-bookworm-minbase.tar" reuse="$CACHE/images/aml-remotevm-test-py3.tar"
  if [[ -s "$tar" ]]; then echo "$tar"; return; fi
  if [[ -s "$reuse" ]]; then echo "$reuse"; return; fi # hack/test-services.sh's rootfs (minbase + python3)
  command -v debootstrap >/dev/null 2>&1 || apt-get install -y debootstrap >&2
  local dir; dir=$(mktemp -d "$CACHE/tmp.rootfs.XXXXXX")
  mkdir -p "$CACHE/debootstrap-debs" "$CACHE/images"
  say "debootstrap --variant=minbase bookworm (about a minute, once)"
  debootstrap --variant=minbase --cache-dir="$CACHE/debootstrap-debs" bookworm "$dir/rootfs" "$DEBIAN_MIRROR" >"$dir/log" 2>&1 ||
    { tail -20 "$dir/log" >&2; rm -rf "$dir"; die "debootstrap failed"; }
  rm -rf "$dir/rootfs/var/cache/apt/archives/"*.deb "$dir/rootfs/var/lib/apt/lists/"*
  tar -C "$dir/rootfs" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  rm -rf "$dir"
  echo "$tar"
}

npm_tarball() {
  local tgz="$CACHE/images/npm-$NPM_VERSION.tgz"
  if [[ ! -s "$tgz" ]]; then
    say "fetching npm $NPM_VERSION from the npm registry"
    (cd "$CACHE/images" && "$NODE_BIN/node" "$(command -v npm)" pack "npm@$NPM_VERSION" --silent >/dev/null) ||
      die "npm pack npm@$NPM_VERSION failed"
  fi
  echo "$tgz"
}

ensure_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then say "base $BASE_IMAGE present"; return; fi
  local rootfs npm dir
  rootfs=$(base_rootfs); npm=$(npm_tarball)
  dir=$(mktemp -d "$CACHE/tmp.node-base.XXXXXX")
  say "assembling $BASE_IMAGE from $(basename "$rootfs") + node $NODE_VERSION + npm $NPM_VERSION"
  mkdir -p "$dir/rootfs"
  tar -C "$dir/rootfs" -xf "$rootfs"
  install -D -m 0755 "$NODE_BIN/node" "$dir/rootfs/usr/local/bin/node"
  mkdir -p "$dir/rootfs/usr/local/lib/node_modules/npm"
  tar -C "$dir/rootfs/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/rootfs/usr/local/bin/npx"
  # This machine's CA bundle (it may include a local egress CA) so npm ci works inside builds.
  mkdir -p "$dir/rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$dir/rootfs" --numeric-owner -cf "$dir/base.tar" .
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV NPM_CONFIG_CAFILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' \
    "$dir/base.tar" "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
  docker run --rm --network none "$BASE_IMAGE" node -e 'process.stdout.write(process.version)' | grep -q "^v$NODE_VERSION$" ||
    die "$BASE_IMAGE does not run node $NODE_VERSION"
}

build() {
  say "docker build $IMAGE (NODE_IMAGE=$BASE_IMAGE)"
  DOCKER_BUILDKIT=0 docker build --network host --build-arg "NODE_IMAGE=$BASE_IMAGE" -t "$IMAGE" "$ROOT" >&2
}

import_into_cluster() {
  [[ -S "$CTRD_SOCK" ]] || die "no cluster containerd at $CTRD_SOCK (run make cluster-up)"
  say "importing $IMAGE into the cluster's containerd"
  docker save "$IMAGE" | ctr --address "$CTRD_SOCK" -n k8s.io images import - >&2
}

ensure_docker
ensure_base_image
build
[[ "${1:-}" == "--no-import" ]] || import_into_cluster
echo "$IMAGE"
