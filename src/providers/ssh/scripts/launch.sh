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
CONTAINER=${CFG[container]:-}
MODE=${CFG[mode]}
ENV_DIR=${CFG[env_dir]:-}

stop_child() { # <signal>
  [ -n "$CHILD" ] && kill "-$1" -- "-$CHILD" 2>/dev/null
  # docker run's client is not the container: remove it explicitly once the grace period is over.
  [ "$1" = KILL ] && [ -n "$CONTAINER" ] && docker rm -f "$CONTAINER" >/dev/null 2>&1
  return 0
}

# Runs "$@" in its own process group (cwd $CHILD_CWD) and waits, enforcing cancel and max duration.
# The launcher stays alive through TERM (trapped) so it can always write exit_code.
run_child() {
  (cd -- "${CHILD_CWD:-$RUN}" && exec setsid -w "$@") &
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
    elif [ -n "$TERM_SENT" ] && [ $((now - TERM_SENT)) -ge "$GRACE" ]; then
      stop_child KILL
    fi
    sleep 0.5
  done
  wait "$CHILD"
  local rc=$?
  CHILD=
  return "$rc"
}

materialize_snapshot() { # copies the content-addressed objects named by the manifest into src/
  local -a M
  local i dir
  mapfile -d '' -t M <"${CFG[manifest]}" || return 1
  mkdir -p "$RUN/src" || return 1
  for ((i = 0; i + 2 < ${#M[@]}; i += 3)); do
    dir=$(dirname -- "${M[i + 2]}")
    mkdir -p -- "$RUN/src/$dir" &&
      cp -- "${CFG[workdir]}/objects/${M[i]}" "$RUN/src/${M[i + 2]}" &&
      chmod "${M[i + 1]}" -- "$RUN/src/${M[i + 2]}" || return 1
  done
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
if ! { materialize_snapshot && mkdir -p "$RUN/outputs"; }; then finish 96 SnapshotFailed; fi
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
  CMD=(docker run --rm --init --name "$CONTAINER" -v "$RUN/src:/workspace" -v "$RUN/outputs:/outputs" -w /workspace
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
CHILD_CWD="$RUN/src" run_child "${CMD[@]}"
rc=$?
[ -n "$TIMED_OUT" ] && finish "$rc" DeadlineExceeded
[ -n "$CANCEL" ] && finish "$rc" Canceled
[ "$rc" -eq 0 ] && finish 0 Completed
finish "$rc" ScriptFailed
