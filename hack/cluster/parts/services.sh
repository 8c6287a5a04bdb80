# shellcheck shell=bash
# Services embedded in the local cluster, as host processes listening on 0.0.0.0 so that the host
# (127.0.0.1) and pods (through the bridge gateway POD_GATEWAY) both reach them:
#   azurite  Azure Blob API (the run data plane's store), npm `azurite` at the version package-lock.json pins
#   mlflow   MLflow tracking server, PyPI `mlflow` pinned in services/mlflow-requirements.txt
# Data lives in .cluster/data/<service>, so it survives a service's restart by `up`; `down` removes it.
# Their addresses are written to .cluster/services.env.

AZURITE_PORT=10000
MLFLOW_PORT=5000
SERVICES=(azurite mlflow)
SERVICES_ENV="$STATE/services.env"
# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

node_bin() { "$HACK_ROOT/hack/node.sh"; }

azurite_dir() { # the azurite install in the cache, at the version package-lock.json pins
  local v
  v=$("$(node_bin)/node" -p "require('$HACK_ROOT/package-lock.json').packages['node_modules/azurite'].version") ||
    die "cannot read azurite's version from package-lock.json"
  echo "$CACHE/azurite-$v"
}

ensure_azurite_installed() { # dir
  local dir=$1 v=${1##*/azurite-}
  [[ -f $dir/node_modules/azurite/package.json ]] && return 0
  log "installing azurite $v from the npm registry into $dir (log $LOGS/azurite-install.log)"
  mkdir -p "$dir"
  PATH="$(node_bin):$PATH" npm install --no-save --no-audit --no-fund --prefix "$dir" "azurite@$v" >>"$LOGS/azurite-install.log" 2>&1 ||
    { tail_log azurite-install; die "npm install azurite@$v failed"; }
}

start_azurite() {
  pid_of azurite >/dev/null && return 0
  check_port "$AZURITE_PORT" azurite
  local dir
  dir=$(azurite_dir)
  ensure_azurite_installed "$dir"
  mkdir -p "$STATE/data/azurite"
  start_bg azurite "$(node_bin)/node" "$dir/node_modules/azurite/dist/src/blob/main.js" \
    --blobHost 0.0.0.0 --blobPort "$AZURITE_PORT" --location "$STATE/data/azurite" \
    --skipApiVersionCheck --loose --disableTelemetry
}

start_mlflow() { # installs on first use inside the started process (minutes): `up` waits at its very end
  pid_of mlflow >/dev/null && return 0
  check_port "$MLFLOW_PORT" mlflow
  mkdir -p "$STATE/data/mlflow"
  start_bg mlflow "$HERE/services/mlflow.sh" "$STATE/data/mlflow" "$MLFLOW_PORT"
}

install_services() { # what a first start would install, without starting anything (cluster.sh prepare)
  ensure_azurite_installed "$(azurite_dir)"
  log "installing MLflow if missing (log $LOGS/mlflow-install.log)"
  "$HERE/services/mlflow.sh" --install-only >>"$LOGS/mlflow-install.log" 2>&1 || { tail_log mlflow-install; die "MLflow install failed"; }
}

azurite_answers() { curl -sS -o /dev/null --max-time 5 "http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT?comp=list"; }
mlflow_answers() { curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$MLFLOW_PORT/health"; }

write_services_env() {
  local store="http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT"
  cat >"$SERVICES_ENV.tmp" <<EOV
# Written by hack/cluster/cluster.sh up: addresses of the services embedded in the local cluster.
# *_TARGET_* are the addresses pods use (the pod bridge's gateway); the others are for the host.
AML_STORE_URL=$store
AML_STORE_TARGET_URL=http://$POD_GATEWAY:$AZURITE_PORT/$AZURITE_ACCOUNT
AML_STORE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=$store;'
MLFLOW_TRACKING_URI=http://127.0.0.1:$MLFLOW_PORT
MLFLOW_TARGET_TRACKING_URI=http://$POD_GATEWAY:$MLFLOW_PORT
EOV
  mv -f "$SERVICES_ENV.tmp" "$SERVICES_ENV"
}

start_services() {
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  write_services_env
  start_mlflow # first, so that a first-time install overlaps with the rest of `up`
  start_azurite
}

wait_services() {
  wait_for "azurite on port $AZURITE_PORT" 60 azurite azurite_answers
  if ! mlflow_answers 2>/dev/null; then log "waiting for MLflow on port $MLFLOW_PORT (a first start also installs it from PyPI; log $LOGS/mlflow.log)"; fi
  wait_for "MLflow on port $MLFLOW_PORT" 1200 mlflow mlflow_answers
}

stop_services() {
  stop_pid azurite 10
  stop_pid mlflow 15 group # its server forks workers
}

services_status() {
  local s pid ok
  for s in "${SERVICES[@]}"; do
    if pid=$(pid_of "$s"); then
      ok=no
      "${s}_answers" 2>/dev/null && ok=yes
      printf '  %-24s running  pid %s, answering: %s\n' "$s" "$pid" "$ok"
    else
      printf '  %-24s stopped\n' "$s"
    fi
  done
  [[ -f $SERVICES_ENV ]] && { echo "  services ($SERVICES_ENV):"; grep -v -e '^#' -e CONNECTION_STRING "$SERVICES_ENV" | sed 's/^/    /'; }
  return 0
}

services_healthy() { pid_of azurite >/dev/null && pid_of mlflow >/dev/null && azurite_answers && mlflow_answers; }
