#!/usr/bin/env bash
# Runs the local cluster's MLflow tracking server in the foreground (hack/cluster/cluster.sh starts
# it in the background and records its pid):
#   hack/cluster/services/mlflow.sh DATA_DIR PORT
#   hack/cluster/services/mlflow.sh --install-only      (cluster.sh prepare)
# On first use it installs the pinned requirements (mlflow-requirements.txt beside this file) from
# PyPI with pip as this machine configures it into a venv in the cache folder, keyed by the
# requirements and the Python version; then it execs `mlflow server` with a sqlite backend and
# artifacts served from DATA_DIR.
set -euo pipefail
LOG_TAG=mlflow
# shellcheck source=../../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib.sh"

usage="usage: mlflow.sh DATA_DIR PORT | --install-only"
data=${1:?$usage}
req="$HACK_ROOT/hack/cluster/services/mlflow-requirements.txt"
python=/usr/bin/python3
[[ -x $python ]] || die "$python missing (apt-get install python3 python3-venv)"

key=$( { "$python" --version; cat "$req"; } | sha256sum | cut -c1-16)
venv="$CACHE/mlflow-$key/venv"
if [[ ! -f $venv/.complete ]]; then
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.mlflow-install.lock"
  flock -w 1800 9 || die "another install holds $CACHE/.mlflow-install.lock"
  if [[ ! -f $venv/.complete ]]; then
    log "installing MLflow into $venv (pinned in $req; a few minutes, once)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --no-input -r "$req"
    touch "$venv/.complete"
    log "MLflow installed"
  fi
  exec 9>&-
fi
[[ $data == --install-only ]] && exit 0
port=${2:?$usage}

mkdir -p "$data/artifacts"
# Job execution (GenAI prompt jobs) would start seven extra worker processes that tracking never uses.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
exec "$venv/bin/mlflow" server --host 0.0.0.0 --port "$port" --workers 1 \
  --backend-store-uri "sqlite:///$data/mlflow.db" --artifacts-destination "$data/artifacts"
