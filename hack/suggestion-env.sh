#!/usr/bin/env bash
# Prints the path of a Python interpreter with the Sweep suggestion service's packages (Optuna,
# pinned in src/sweep/suggestion/requirements.txt), building a venv from PyPI on first use. The
# venv lives in a cache folder outside the repo, keyed by the requirements' hash, and is reused by
# every clone. The operator takes it as SUGGESTION_PYTHON.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/src/sweep/suggestion/requirements.txt"
CACHE="${AML_CACHE_DIR:-$HOME/.cache/aml-compute-operator}"
hash="$(sha256sum "$req" | cut -c1-12)"
venv="$CACHE/suggestion-$hash"
if [[ ! -f "$venv/.ready" ]]; then
  mkdir -p "$CACHE"
  rm -rf "$venv.tmp"
  python3 -m venv "$venv.tmp" >&2
  # pip takes its index and certificates from the machine's own configuration.
  "$venv.tmp/bin/python" -m pip install --no-input --disable-pip-version-check -q -r "$req" >&2
  touch "$venv.tmp/.ready"
  rm -rf "$venv"
  mv "$venv.tmp" "$venv"
fi
echo "$venv/bin/python"
