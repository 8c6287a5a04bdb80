#!/usr/bin/env bash
# aml-compute-operator run launcher. Static text, identical for every run: every input is read
# from files in the run directory (NUL-separated), never spliced into a command line.
# Usage: bash launch.sh <absolute run dir>. Started detached (setsid nohup) by the control script.
set -u
umask 077 # sources, environments and outputs are the login user's alone
RUN=$1
cd -- "$RUN" || exit 97
printf '%s\n' "$$" >"$RUN/pid.tmp" && mv -f "$RUN/pid.tmp" "$RUN/pid"

log() { printf '[aml %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
finish() { # <exit code> <reason>
  rm -f -- "$RUN/store.env"
  printf '%s\n' "$2" >"$RUN/reason"
  printf '%s\n' "$1" >"$RUN/exit_code.tmp" && mv -f "$RUN/exit_code.tmp" "$RUN/exit_code"
  log "finished: exit code $1 ($2)"
  exit 0
}

declare -A CFG=()
mapfile -d '' -t KV <"$RUN/launch"
for ((i = 0; i + 1 < ${#KV[@]}; i += 2)); do CFG[${KV[i]}]=${KV[i + 1]}; done

CANCEL='' TIMED_OUT='' CHILD='' TERM_SENT=''
trap 'CANCEL=1' TERM INT HUP
START=$(date +%s)
MAX=${CFG[max_seconds]:-0}
GRACE=${CFG[grace_seconds]:-10}
# After forwarding TERM the runner still uploads outputs and the log: it gets this long before KILL.
UPLOAD_GRACE=${CFG[upload_grace_seconds]:-300}
CONTAINER=${CFG[container]:-}
MODE=${CFG[mode]}
ENV_DIR=${CFG[env_dir]:-}
SRC=$RUN/src
# The runner needs Python >= 3.8; resolved before an environment's bin/ joins PATH.
RUNNER_PY=$(command -v python3 || printf '%s' "${CFG[interpreter]:-python3}")

stop_child() { # <signal>
  [ -n "$CHILD" ] && kill "-$1" -- "-$CHILD" 2>/dev/null
  # The command runs in a group of its own (the runner's); reach it even if the runner is gone.
  local pg
  [ "$1" = KILL ] && pg=$(cat "$RUN/command_pgid" 2>/dev/null) && [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null
  # docker run's client is not the container: remove it explicitly once the grace period is over.
  [ "$1" = KILL ] && [ -n "$CONTAINER" ] && docker rm -f "$CONTAINER" >/dev/null 2>&1
  return 0
}

# The runner's SAS URLs: NUL-separated NAME=value pairs, exported in the child's subshell only (so
# they appear on no command line and in no other process's environment).
export_store_env() {
  local kv
  while IFS= read -r -d '' kv; do
    # shellcheck disable=SC2163 # kv is NAME=value: export exactly that pair
    export "$kv"
  done <"$RUN/store.env"
}

# Runs "$@" in its own process group (cwd $CHILD_CWD; with the store's URLs when CHILD_STORE is
# set, and the file deleted once read when it is "last") and waits, enforcing cancel and max
# duration (TERM, then KILL after $CHILD_GRACE s). The launcher stays alive through TERM (trapped)
# so it can always write exit_code.
run_child() {
  (
    cd -- "${CHILD_CWD:-$RUN}" || exit 97
    if [ -n "${CHILD_STORE:-}" ]; then
      export_store_env || exit 97
      [ "$CHILD_STORE" = last ] && rm -f -- "$RUN/store.env"
    fi
    unset -v CHILD_CWD CHILD_STORE CHILD_GRACE
    exec setsid -w "$@"
  ) &
  CHILD=$!
  printf '%s\n' "$CHILD" >"$RUN/child_pgid"
  local now
  while kill -0 "$CHILD" 2>/dev/null; do
    now=$(date +%s)
    if [ -z "$TIMED_OUT" ] && [ "$MAX" -gt 0 ] && [ $((now - START)) -ge "$MAX" ]; then
      TIMED_OUT=1
      log "max run duration of ${MAX}s reached: stopping"
    fi
    if [ -z "$TERM_SENT" ] && { [ -n "$CANCEL" ] || [ -n "$TIMED_OUT" ]; }; then
      TERM_SENT=$now
      stop_child TERM
    elif [ -n "$TERM_SENT" ] && [ $((now - TERM_SENT)) -ge "${CHILD_GRACE:-$GRACE}" ]; then
      stop_child KILL
    fi
    sleep 0.5
  done
  wait "$CHILD"
  local rc=$?
  CHILD=
  return "$rc"
}

# The data-plane runner fetches the snapshot from the store, verifies every object and the digest,
# and only then writes it into $SRC (created empty). Nothing runs when it refuses: its first word on
# materialize.err is the reason (SnapshotCorrupt, SnapshotInvalid, SnapshotUnavailable, RunnerFailed).
materialize() {
  CHILD_STORE=keep run_child "$RUNNER_PY" "${CFG[runner]}" materialize --workdir "$SRC" \
    --state "$RUN/snapshot.json" --termination-log "$RUN/materialize.err"
}

materialize_failure_reason() {
  local reason
  reason=$(sed -n '1s/:.*//p' "$RUN/materialize.err" 2>/dev/null)
  case "$reason" in
    SnapshotCorrupt | SnapshotInvalid | SnapshotUnavailable | RunnerFailed) echo "$reason" ;;
    *) echo RunnerFailed ;;
  esac
}

# Built once per environment hash: under an exclusive lock, into the final path, and marked ready
# (marker written to a temp name, then renamed) only when complete. A half-built directory left by
# a crash has no marker and is wiped by the next builder. venvs and conda envs embed their absolute
# prefix, so building elsewhere and renaming the directory would break them.
build_env() {
  exec 8>"$ENV_DIR.lock" || return 1
  until flock -n 8; do
    [ -n "$CANCEL" ] && return 143
    sleep 1
  done
  if [ -f "$ENV_DIR/.aml-ready" ]; then
    log "environment ${ENV_DIR##*/} reused (built $(cat "$ENV_DIR/.aml-ready"))"
    echo reused >"$RUN/env_status"
  else
    echo building >"$RUN/env_status"
    log "building environment ${ENV_DIR##*/}"
    rm -rf -- "$ENV_DIR"
    if [ "$MODE" = conda ]; then
      local -a CARGS
      mapfile -d '' -t CARGS <"$RUN/conda_args"
      run_child conda create -y -q -p "$ENV_DIR" "${CARGS[@]}" || return $?
    else
      local base=python3 pv=${CFG[python_version]:-}
      if [ -n "$pv" ] && command -v "python$pv" >/dev/null 2>&1; then base=python$pv; fi
      [ -n "$pv" ] && [ "$base" = python3 ] && log "warning: python$pv not found; using $(python3 --version 2>&1)"
      run_child "$base" -m venv "$ENV_DIR" || return $?
    fi
    if [ -s "$RUN/requirements.txt" ]; then
      cp -- "$RUN/requirements.txt" "$ENV_DIR/.aml-requirements.txt"
      run_child "$ENV_DIR/bin/python" -m pip install --no-input --disable-pip-version-check -r "$RUN/requirements.txt" || return $?
    fi
    date -u +%Y-%m-%dT%H:%M:%SZ >"$ENV_DIR/.aml-ready.tmp" && mv -f "$ENV_DIR/.aml-ready.tmp" "$ENV_DIR/.aml-ready" || return 1
    echo built >"$RUN/env_status"
  fi
  flock -u 8
  exec 8>&-
}

echo preparing >"$RUN/phase"
log "run directory $RUN"
materialize
rc=$?
[ -n "$CANCEL" ] && finish "$rc" Canceled
[ -n "$TIMED_OUT" ] && finish "$rc" DeadlineExceeded
if [ "$rc" -ne 0 ]; then
  [ -s "$RUN/materialize.err" ] || printf 'RunnerFailed: %s exited %s\n' "$RUNNER_PY" "$rc" >"$RUN/materialize.err"
  finish "$rc" "$(materialize_failure_reason)"
fi
if [ "$MODE" = venv ] || [ "$MODE" = conda ]; then
  build_env
  rc=$?
  [ -n "$CANCEL" ] && finish "$rc" Canceled
  [ -n "$TIMED_OUT" ] && finish "$rc" DeadlineExceeded
  [ "$rc" -ne 0 ] && finish "$rc" EnvironmentFailed
  export PATH="$ENV_DIR/bin:$PATH"
  if [ "$MODE" = conda ]; then export CONDA_PREFIX="$ENV_DIR"; else export VIRTUAL_ENV="$ENV_DIR"; fi
fi

declare -a ARGV=() KEYS=() CMD=() PREFIX=()
mapfile -d '' -t ARGV <"$RUN/argv"
while IFS= read -r -d '' kv; do
  # shellcheck disable=SC2163 # kv is NAME=value: export exactly that pair
  export "$kv"
  KEYS+=("${kv%%=*}")
done <"$RUN/environ"

case "$MODE" in
  venv | conda) INTERP="$ENV_DIR/bin/python" ;;
  *) INTERP=${CFG[interpreter]:-python3} ;;
esac
[ "${CFG[use_interpreter]:-0}" = 1 ] && PREFIX=("$INTERP")

if [ "$MODE" = docker ]; then
  CMD=(docker run --rm --init --name "$CONTAINER" -v "$SRC:/workspace" -w /workspace
    --user "$(id -u):$(id -g)" -e HOME=/tmp)
  for k in "${KEYS[@]}"; do CMD+=(-e "$k"); done # values come from this process's environment
  [ "${CFG[gpu]:-0}" = 1 ] && CMD+=(--gpus all)
  [ -n "${CFG[shm_size]:-}" ] && CMD+=(--shm-size "${CFG[shm_size]}")
  declare -a EXTRA=()
  mapfile -d '' -t EXTRA <"$RUN/docker_args"
  CMD+=("${EXTRA[@]}" "${CFG[image]}")
fi
CMD+=("${PREFIX[@]}" "${ARGV[@]}")

echo running >"$RUN/phase"
log "starting ($MODE)"
# The runner runs the command in $SRC, copies its output to this log and to script.log, forwards
# TERM (KILL after $GRACE s) and uploads $SRC/outputs, script.log and result.json on any exit.
CHILD_CWD=$SRC CHILD_STORE=last CHILD_GRACE=$((GRACE + UPLOAD_GRACE)) run_child "$RUNNER_PY" "${CFG[runner]}" run \
  --workdir "$SRC" --log "$RUN/script.log" --state "$RUN/snapshot.json" --kill-after "$GRACE" \
  --pid-file "$RUN/command_pgid" -- "${CMD[@]}"
rc=$?
# docker run's client is not the container: make sure none outlives a canceled or killed client.
[ -n "$CONTAINER" ] && docker rm -f "$CONTAINER" >/dev/null 2>&1
[ -n "$TIMED_OUT" ] && finish "$rc" DeadlineExceeded
[ -n "$CANCEL" ] && finish "$rc" Canceled
[ "$rc" -eq 0 ] && finish 0 Completed
finish "$rc" ScriptFailed
