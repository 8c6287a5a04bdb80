#!/usr/bin/env bash
# Prints the path of a pinned dev tool, building or installing it on first use:
#   hack/tools.sh helm | kubeconform   → a binary built with `go install` from the Go module proxy,
#                                         cached in ${AML_CACHE_DIR:-~/.cache/aml-compute-operator}/tools/<name>-<version>/
#   hack/tools.sh lua                  → lua5.1 with lua-cjson (Debian packages; apt-get needs root)
#   hack/tools.sh k8s-openapi          → swagger.json of the pinned Kubernetes (Go module cache)
# Neither helm nor kubeconform is on npm or in Debian bookworm, hence the Go build.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.19.0}"
# Kubernetes minor of the client-go modules that helm version builds against (helm's Makefile reads go.mod).
HELM_K8S_MINOR=34
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"
LOG_TAG=hack/tools.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

go_tool() { # name version package [extra ldflags]
  local name=$1 version=$2 pkg=$3 ldflags="-s -w ${4:-}" dir bin
  dir="$CACHE/tools/$name-$version"; bin="$dir/$name"
  if [[ ! -x "$bin" ]]; then
    command -v go >/dev/null 2>&1 || die "Go is needed to build $name (https://go.dev/dl)"
    mkdir -p "$dir"
    say "building $name $version with go install (first use only)"
    # GOBIN puts the binary straight into the versioned cache folder; a failed build leaves none.
    GOBIN="$dir" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags "$ldflags" "$pkg@$version" >&2 ||
      die "building $name $version failed"
  fi
  echo "$bin"
}

# The OpenAPI (swagger.json) of the Kubernetes version the local cluster pins, from the
# k8s.io/kubernetes module (the cluster build downloads it anyway): kubeconform's schemas are
# generated from it offline, since kubeconform's default schema registry is on GitHub.
k8s_openapi() {
  local version dir
  version=$(sed -n 's/^K8S_VERSION=//p' "$(dirname "${BASH_SOURCE[0]}")/cluster/versions.env")
  command -v go >/dev/null 2>&1 || die "Go is needed to fetch k8s.io/kubernetes@$version"
  dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -f "$dir/api/openapi-spec/swagger.json" ]] || die "no api/openapi-spec/swagger.json in k8s.io/kubernetes@$version"
  echo "$dir/api/openapi-spec/swagger.json"
}

lua_tool() {
  if ! command -v lua5.1 >/dev/null 2>&1 || ! lua5.1 -e 'require("cjson")' >/dev/null 2>&1; then
    apt_install_missing lua5.1 lua-cjson
  fi
  command -v lua5.1
}

case "${1:-}" in
  # The -X flags are those of helm's own Makefile: without them `helm version` is empty and
  # `helm template` assumes Kubernetes v1.20 (failing charts that require a newer kubeVersion).
  helm) go_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR" ;;
  kubeconform) go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform ;;
  lua) lua_tool ;;
  k8s-openapi) k8s_openapi ;;
  *) die "usage: hack/tools.sh helm|kubeconform|lua|k8s-openapi" ;;
esac
