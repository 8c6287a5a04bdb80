#!/usr/bin/env bash
# Builds the operator image offline and imports it into the local cluster's containerd:
#   1. a local Node 24 base image: the project's one Debian rootfs (hack/rootfs.sh, cached) + the
#      node binary that hack/node.sh installs + npm, via `docker import` (nothing can be pulled here);
#   2. `docker build --build-arg NODE_IMAGE=<that base>` of the repo's Dockerfile (legacy builder,
#      host network so `npm ci` reaches the registry);
#   3. `docker save | ctr -n k8s.io images import` into the cluster (hack/cluster/cluster.sh's socket).
# Prints the image reference on stdout; progress goes to stderr. Needs root (debootstrap, dockerd).
# The cluster's containerd keeps its state under .cluster/ in the checkout: remove the image when
# done (ctr -n k8s.io images rm --sync <image> sha256:<image id>), as the e2e test does.
#   IMAGE=localhost/aml-compute-operator:dev hack/build-image.sh [--no-import]
set -euo pipefail
LOG_TAG=build-image
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=rootfs.sh
source "$(dirname "${BASH_SOURCE[0]}")/rootfs.sh"
ROOT=$HACK_ROOT
IMAGE="${IMAGE:-localhost/aml-compute-operator:dev}"
CTRD_SOCK="$ROOT/.cluster/run/containerd.sock"

NODE_BIN=$("$ROOT/hack/node.sh")
NODE_VERSION=$("$NODE_BIN/node" --version | sed 's/^v//')
NPM_VERSION="${NPM_VERSION:-11.6.2}"
BASE_IMAGE="localhost/aml-node:${NODE_VERSION}-bookworm"

ensure_docker() {
  docker info >/dev/null 2>&1 && return
  say "no Docker engine answers; starting one with hack/test-services.sh up"
  "$ROOT/hack/test-services.sh" up >&2
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
  rootfs=$(rootfs_tar "$CACHE/logs/rootfs.log"); npm=$(npm_tarball)
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
  local got
  got=$(docker run --rm --network none "$BASE_IMAGE" node -e 'process.stdout.write(process.version)') || true
  [[ $got == "v$NODE_VERSION" ]] || die "$BASE_IMAGE does not run node $NODE_VERSION (got '$got')"
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
