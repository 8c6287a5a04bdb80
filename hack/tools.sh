#!/usr/bin/env bash
# Prints the path of a pinned dev tool, building or installing it on first use:
#   hack/tools.sh helm | kubeconform   → a binary built with `go install` from the Go module proxy,
#                                         cached in ${AML_CACHE_DIR:-~/.cache/aml-compute-operator}/tools/<name>-<version>/
#   hack/tools.sh lua                  → lua5.1 with lua-cjson (Debian packages; apt-get needs root)
# Neither helm nor kubeconform is on npm or in Debian bookworm, hence the Go build.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.19.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"
CACHE="${AML_CACHE_DIR:-$HOME/.cache/aml-compute-operator}"

die() { echo "hack/tools.sh: $*" >&2; exit 1; }

go_tool() { # name version package
  local name=$1 version=$2 pkg=$3 dir bin
  dir="$CACHE/tools/$name-$version"; bin="$dir/$name"
  if [[ ! -x "$bin" ]]; then
    command -v go >/dev/null 2>&1 || die "Go is needed to build $name (https://go.dev/dl)"
    mkdir -p "$dir"
    echo "hack/tools.sh: building $name $version with go install (first use only)" >&2
    # GOBIN puts the binary straight into the versioned cache folder; a failed build leaves none.
    GOBIN="$dir" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "$pkg@$version" >&2 ||
      die "building $name $version failed"
  fi
  echo "$bin"
}

lua_tool() {
  if ! command -v lua5.1 >/dev/null 2>&1 || ! lua5.1 -e 'require("cjson")' >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || die "lua5.1 and lua-cjson are missing: run 'sudo apt-get install -y lua5.1 lua-cjson'"
    echo "hack/tools.sh: installing lua5.1 and lua-cjson with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y --no-install-recommends lua5.1 lua-cjson || { apt-get update && apt-get install -y --no-install-recommends lua5.1 lua-cjson; }; } >&2 ||
      die "apt-get install lua5.1 lua-cjson failed"
  fi
  command -v lua5.1
}

case "${1:-}" in
  helm) go_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm ;;
  kubeconform) go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform ;;
  lua) lua_tool ;;
  *) die "usage: hack/tools.sh helm|kubeconform|lua" ;;
esac
