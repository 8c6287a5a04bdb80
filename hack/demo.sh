#!/usr/bin/env bash
# `make demo`: installs the CRDs, starts the operator in the background, applies examples/local and
# shows `kubectl get aml` until every TrainingRun has finished, then prints their output. The
# cluster, the operator and the finished runs stay up for a look with kubectl or k9s;
# `make cluster-down` (or `hack/demo.sh stop`) removes them.
set -euo pipefail
LOG_TAG=demo
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HACK_ROOT"
ROOT=$PWD
NS="${DEMO_NAMESPACE:-aml-demo}"
STATE="$ROOT/.cluster"
PIDFILE="$STATE/operator.pid"
LOG="$STATE/logs/operator-demo.log"
export KUBECONFIG="$STATE/kubeconfig"
# shellcheck source=cluster/versions.env
source hack/cluster/versions.env
KUBECTL="$CACHE/k8s-$K8S_VERSION/bin/kubectl"
[[ -x $KUBECTL ]] || KUBECTL=kubectl
k() { "$KUBECTL" "$@"; }

operator_running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

stop_operator() {
  if operator_running; then
    kill "$(cat "$PIDFILE")" && echo "stopped the demo operator (pid $(cat "$PIDFILE"))"
  fi
  rm -f "$PIDFILE"
}

start_operator() {
  if operator_running; then echo "operator already running (pid $(cat "$PIDFILE"), log $LOG)"; return; fi
  mkdir -p "$STATE/logs"
  [[ -f $STATE/services.env ]] || die "$STATE/services.env missing (make cluster-up writes it)"
  # The run data plane's store and the MLflow server the cluster embeds (AML_STORE_*, MLFLOW_*).
  # Scoped to the demo's namespace: the cluster may be shared with tests that run their own operator.
  (
    set -a
    # shellcheck source=/dev/null
    source "$STATE/services.env"
    set +a
    # This single-node cluster's administrator (you) allows the examples' node cache directory.
    LOCAL_ALLOWED_HOST_PATH_PREFIXES="${LOCAL_ALLOWED_HOST_PATH_PREFIXES:-/var/lib/amlcompute}" \
    WATCH_NAMESPACE="$NS" HEALTH_PORT="${HEALTH_PORT:-18081}" METRICS_PORT="${METRICS_PORT:-18080}" \
      exec nohup node --import tsx src/main.ts >"$LOG" 2>&1 </dev/null
  ) &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:${HEALTH_PORT:-18081}/readyz" >/dev/null 2>&1 && { echo "operator ready (pid $(cat "$PIDFILE"), log $LOG)"; return; }
    operator_running || { echo "operator exited; last log lines:"; tail -20 "$LOG"; exit 1; }
    sleep 0.5
  done
  echo "operator not ready after 60 s; last log lines:"; tail -20 "$LOG"; exit 1
}

if [[ ${1:-} == stop ]]; then stop_operator; exit 0; fi

echo "== installing CRDs"
k apply --server-side --force-conflicts -f deploy/crds >/dev/null
k wait --for=condition=Established --timeout=60s crd/computetargets.amlcompute.dev crd/runconfigurations.amlcompute.dev crd/trainingruns.amlcompute.dev >/dev/null
echo "== starting the operator"
start_operator
echo "== applying examples/local to namespace $NS"
k create namespace "$NS" --dry-run=client -o yaml | k apply -f - >/dev/null
# Fresh runs every time: a TrainingRun is one submission.
k -n "$NS" delete trainingruns --all --wait=true --timeout=120s >/dev/null
k -n "$NS" apply -f examples/local/

deadline=$((SECONDS + 600))
while :; do
  echo; echo "== kubectl get aml -n $NS   ($(date +%T))"
  k -n "$NS" get aml
  phases=$(k -n "$NS" get trainingruns -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}')
  total=$(k -n "$NS" get trainingruns --no-headers | wc -l)
  finished=$(grep -cE '^(Completed|Failed|Canceled)$' <<<"$phases" || true)
  [[ $total -gt 0 && $finished -eq $total ]] && break
  (( SECONDS < deadline )) || { echo "runs did not finish within 10 minutes; see $LOG"; exit 1; }
  sleep 3
done

echo
for run in $(k -n "$NS" get trainingruns -o jsonpath='{.items[*].metadata.name}'); do
  echo "== $run: $(k -n "$NS" get trainingrun "$run" -o jsonpath='{.status.phase} (exit {.status.exitCode}, {.status.conditions[?(@.type=="Succeeded")].reason})')"
  k -n "$NS" get trainingrun "$run" -o jsonpath='{.status.outputTail}' | sed 's/^/   | /'
done
echo
echo "The cluster, operator and runs stay up: KUBECONFIG=$KUBECONFIG kubectl get aml -A   (or k9s)."
echo "Remove everything with: make cluster-down"
