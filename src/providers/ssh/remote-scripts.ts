import { createHash } from "node:crypto";

/*
 * The two bash scripts of the remote protocol (docs/remote-vm.md). They are static: no value from
 * a user is ever placed in their text; inputs come as quoted argv or as NUL-separated files.
 * In the template literals below `$\{` stands for bash's `${` (a bare one would interpolate); the
 * `sh()` helper turns it back.
 */
const sh = (text: string): string => text.replaceAll("$\\{", "${");

/**
 * Started detached per attempt: materializes the snapshot, builds or reuses the environment, runs
 * the command in its own process group, enforces cancel and max duration, writes exit_code.
 */
export const LAUNCH_SCRIPT = sh(String.raw`#!/usr/bin/env bash
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
for ((i = 0; i + 1 < $\{#KV[@]}; i += 2)); do CFG[$\{KV[i]}]=$\{KV[i + 1]}; done

CANCEL= TIMED_OUT= CHILD= TERM_SENT=
trap 'CANCEL=1' TERM INT HUP
START=$(date +%s)
MAX=$\{CFG[max_seconds]:-0}
GRACE=$\{CFG[grace_seconds]:-10}
CONTAINER=$\{CFG[container]:-}
MODE=$\{CFG[mode]}
ENV_DIR=$\{CFG[env_dir]:-}

stop_child() { # <signal>
  [ -n "$CHILD" ] && kill "-$1" -- "-$CHILD" 2>/dev/null
  # docker run's client is not the container: remove it explicitly once the grace period is over.
  [ "$1" = KILL ] && [ -n "$CONTAINER" ] && docker rm -f "$CONTAINER" >/dev/null 2>&1
  return 0
}

# Runs "$@" in its own process group (cwd $CHILD_CWD) and waits, enforcing cancel and max duration.
# The launcher stays alive through TERM (trapped) so it can always write exit_code.
run_child() {
  (cd -- "$\{CHILD_CWD:-$RUN}" && exec setsid -w "$@") &
  CHILD=$!
  printf '%s\n' "$CHILD" >"$RUN/child_pgid"
  local now
  while kill -0 "$CHILD" 2>/dev/null; do
    now=$(date +%s)
    if [ -z "$TIMED_OUT" ] && [ "$MAX" -gt 0 ] && [ $((now - START)) -ge "$MAX" ]; then
      TIMED_OUT=1
      log "max run duration of $\{MAX}s reached: stopping"
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
  mapfile -d '' -t M <"$\{CFG[manifest]}" || return 1
  mkdir -p "$RUN/src" || return 1
  for ((i = 0; i + 2 < $\{#M[@]}; i += 3)); do
    dir=$(dirname -- "$\{M[i + 2]}")
    mkdir -p -- "$RUN/src/$dir" &&
      cp -- "$\{CFG[workdir]}/objects/$\{M[i]}" "$RUN/src/$\{M[i + 2]}" &&
      chmod "$\{M[i + 1]}" -- "$RUN/src/$\{M[i + 2]}" || return 1
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
    log "environment $\{ENV_DIR##*/} reused (built $(cat "$ENV_DIR/.aml-ready"))"
    echo reused >"$RUN/env_status"
  else
    echo building >"$RUN/env_status"
    log "building environment $\{ENV_DIR##*/}"
    rm -rf -- "$ENV_DIR"
    if [ "$MODE" = conda ]; then
      local -a CARGS
      mapfile -d '' -t CARGS <"$RUN/conda_args"
      run_child conda create -y -q -p "$ENV_DIR" "$\{CARGS[@]}" || return $?
    else
      local base=python3 pv=$\{CFG[python_version]:-}
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
materialize_snapshot && mkdir -p "$RUN/outputs" || finish 96 SnapshotFailed
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
  export "$kv"
  KEYS+=("$\{kv%%=*}")
done <"$RUN/environ"

case "$MODE" in
  venv | conda) INTERP="$ENV_DIR/bin/python" ;;
  *) INTERP=$\{CFG[interpreter]:-python3} ;;
esac
[ "$\{CFG[use_interpreter]:-0}" = 1 ] && PREFIX=("$INTERP")

if [ "$MODE" = docker ]; then
  CMD=(docker run --rm --init --name "$CONTAINER" -v "$RUN/src:/workspace" -v "$RUN/outputs:/outputs" -w /workspace
    --user "$(id -u):$(id -g)" -e HOME=/tmp)
  for k in "$\{KEYS[@]}"; do CMD+=(-e "$k"); done # values come from this process's environment
  [ "$\{CFG[gpu]:-0}" = 1 ] && CMD+=(--gpus all)
  [ -n "$\{CFG[shm_size]:-}" ] && CMD+=(--shm-size "$\{CFG[shm_size]}")
  declare -a EXTRA=()
  mapfile -d '' -t EXTRA <"$RUN/docker_args"
  CMD+=("$\{EXTRA[@]}" "$\{CFG[image]}")
fi
CMD+=("$\{PREFIX[@]}" "$\{ARGV[@]}")

echo running >"$RUN/phase"
log "starting ($MODE)"
CHILD_CWD="$RUN/src" run_child "$\{CMD[@]}"
rc=$?
[ -n "$TIMED_OUT" ] && finish "$rc" DeadlineExceeded
[ -n "$CANCEL" ] && finish "$rc" Canceled
[ "$rc" -eq 0 ] && finish 0 Completed
finish "$rc" ScriptFailed
`);

/** Short operations (prepare, admit, observe, cancel, cleanup, probe), sent on stdin each time. */
export const CONTROL_SCRIPT = sh(String.raw`#!/usr/bin/env bash
# aml-compute-operator control script, sent on stdin ("bash -s -- <command> <args>") for every
# short operation. Static text; arguments arrive as quoted argv. Prints key=value lines.
set -u

# Attempts that hold a slot: started, no exit_code yet, and the launcher alive (or just started).
live_runs() { # <workdir>
  local n=0 d pid
  for d in "$1"/runs/*/*/; do
    [ -d "$\{d}started" ] || continue
    [ -e "$\{d}exit_code" ] && continue
    pid=$(cat "$\{d}pid" 2>/dev/null)
    if [ -z "$pid" ]; then
      # The launcher writes pid first thing; a pid-less start older than 60 s never ran.
      [ -n "$(find "$\{d}started" -maxdepth 0 -newermt '-60 seconds' 2>/dev/null)" ] && n=$((n + 1))
    elif launcher_alive "$pid" "$\{d%/}"; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}

# kill -0 alone would accept a recycled pid; the launcher's argv names its run directory.
launcher_alive() { # <pid> <run dir>
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/cmdline" ] || return 0
  tr '\0' '\n' <"/proc/$1/cmdline" | grep -qxF -- "$2"
}

prepare() { # <workdir> [<uid> <attempt> <launcher name>]: layout, absolute path, state of one run
  mkdir -p -- "$1" && cd -- "$1" && mkdir -p objects snapshots envs runs bin || return 1
  echo "workdir=$(pwd -P)"
  command -v conda >/dev/null 2>&1 && echo "conda=1"
  if [ $# -ge 4 ]; then
    mkdir -p -- "runs/$2/$3" || return 1
    [ -d "runs/$2/$3/started" ] && echo "run_started=1"
    [ -e "runs/$2/$3/queued_at" ] && echo "run_queued=1"
    [ -f "bin/$4" ] && echo "launcher=1"
  fi
  return 0
}

# Queued attempts older than this run's entry (FIFO). Entries not refreshed (by observe) for 15
# minutes belong to runs nobody watches any more and stop blocking others.
queue_ahead() { # <run dir> <workdir>
  local run=$1 mine ahead=0 q d
  mine=$(cat "$run/queued_at" 2>/dev/null) || { echo 0; return; }
  for q in "$2"/runs/*/*/queued_at; do
    d=$\{q%/queued_at}
    [ "$d" = "$run" ] && continue
    { [ -d "$d/started" ] || [ -e "$d/canceled" ]; } && continue
    [ -n "$(find "$q" -maxdepth 0 -mmin -15 2>/dev/null)" ] || continue
    [ "$(cat "$q")" -lt "$mine" ] && ahead=$((ahead + 1))
  done
  echo "$ahead"
}

# Admission under one lock per workdir: an attempt starts when fewer than <max> attempts are live
# and no older queued attempt is waiting; otherwise it is queued (queued_at holds its FIFO key).
admit() { # <run dir> <max> <launcher>
  local run=$1 max=$2 launcher=$3 wd=$\{1%/*/*/*} live ahead
  [ -d "$run/started" ] && { echo admit=already; return; }
  [ -e "$run/canceled" ] && { echo admit=canceled; return; }
  exec 9>"$wd/admission.lock" && flock -w 20 9 || { echo admit=busy; return; }
  [ -d "$run/started" ] && { echo admit=already; return; }
  [ -s "$run/queued_at" ] || { date +%s%N >"$run/queued_at.tmp" && mv -f "$run/queued_at.tmp" "$run/queued_at"; }
  touch "$run/queued_at"
  live=$(live_runs "$wd")
  ahead=$(queue_ahead "$run" "$wd")
  if [ "$ahead" -lt $((max - live)) ]; then
    mkdir "$run/started" || { echo admit=already; return; }
    # 9>&-: the launcher must not inherit (and hold) the admission lock.
    setsid nohup bash "$launcher" "$run" </dev/null >>"$run/output.log" 2>&1 9>&- &
    echo admit=started
  else
    echo "admit=queued"
    echo "queue_position=$((ahead + 1))"
  fi
  echo "live=$live"
}

status() { # <run dir>
  local run=$1 pid f
  [ -d "$run" ] || { echo exists=0; return; }
  echo exists=1
  pid=$(cat "$run/pid" 2>/dev/null)
  # Liveness first, files second: a launcher that exits in between has written exit_code already.
  [ -n "$pid" ] && launcher_alive "$pid" "$run" && echo alive=1
  [ -d "$run/started" ] && echo started=1 && echo "started_age=$(($(date +%s) - $(stat -c %Y "$run/started")))"
  [ -e "$run/queued_at" ] && echo queued=1
  [ -e "$run/canceled" ] && echo canceled=1
  for f in pid exit_code reason phase env_status; do
    [ -s "$run/$f" ] && echo "$f=$(head -c 200 "$run/$f" | tr -d '\n')"
  done
  [ -f "$run/output.log" ] && echo "log_bytes=$(stat -c %s "$run/output.log")"
  echo "---"
  [ -f "$run/output.log" ] && tail -c 8192 "$run/output.log"
  return 0
}

# Read-only but for one heartbeat: a queued attempt's entry is touched (so it stays in the queue)
# and reported admissible when a slot is free; the controller then calls submit, which admits it.
observe() { # <run dir> <max>
  local run=$1 max=$2 wd=$\{1%/*/*/*} live ahead
  if [ -d "$run" ] && [ ! -d "$run/started" ] && [ ! -e "$run/canceled" ] && [ -e "$run/queued_at" ]; then
    touch "$run/queued_at"
    live=$(live_runs "$wd")
    ahead=$(queue_ahead "$run" "$wd")
    echo "queue_position=$((ahead + 1))"
    [ "$ahead" -lt $((max - live)) ] && echo admissible=1
  fi
  status "$run"
}

cancel() { # <run dir> <container name or "">
  local run=$1 container=$2 pid pg
  [ -d "$run" ] || { echo cancel=absent; return; }
  : >"$run/canceled"
  pid=$(cat "$run/pid" 2>/dev/null)
  if [ -n "$pid" ] && launcher_alive "$pid" "$run"; then
    kill -TERM "$pid" # the launcher stops its child group (TERM, KILL after grace) and records the exit
    echo cancel=signaled
    return
  fi
  # No launcher: kill whatever it left behind.
  pg=$(cat "$run/child_pgid" 2>/dev/null)
  [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1
  echo cancel=done
}

cleanup() { # <run dir> <container name or "">
  local run=$1 pid pg
  [ -d "$run" ] || { echo cleanup=absent; return; }
  : >"$run/canceled"
  pid=$(cat "$run/pid" 2>/dev/null)
  [ -n "$pid" ] && launcher_alive "$pid" "$run" && kill -KILL "$pid"
  pg=$(cat "$run/child_pgid" 2>/dev/null)
  [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null
  [ -n "$2" ] && docker rm -f "$2" >/dev/null 2>&1
  rm -rf -- "$run"
  rmdir -- "$\{run%/*}" 2>/dev/null
  echo cleanup=done
}

probe() { # <workdir>
  prepare "$1" >/dev/null || { echo "error=cannot create $1"; return; }
  echo "workdir=$(pwd -P)"
  [ -w . ] && echo writable=1
  echo "os=$(uname -srm)"
  [ -r /etc/os-release ] && echo "distro=$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')"
  local p v
  for p in python3 python3.8 python3.9 python3.10 python3.11 python3.12 python3.13 python3.14; do
    command -v "$p" >/dev/null 2>&1 || continue
    v=$("$p" -c 'import platform; print(platform.python_version())' 2>/dev/null) && echo "python=$v"
  done
  command -v conda >/dev/null 2>&1 && echo "conda=$(conda --version 2>/dev/null | awk '{print $2}')"
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1 && echo docker=1
  command -v nvidia-smi >/dev/null 2>&1 && echo "gpus=$(timeout 10 nvidia-smi -L 2>/dev/null | grep -c '^GPU')"
  echo "running=$(live_runs "$(pwd -P)")"
}

main() {
  exec </dev/null # the script itself came on stdin; nothing below may read it
  umask 077       # the layout (sources, environments, runs) is the login user's alone
  local cmd=$1
  shift
  case "$cmd" in
    prepare | admit | observe | status | cancel | cleanup | probe) "$cmd" "$@" ;;
    *) echo "error=unknown command" ; exit 2 ;;
  esac
}
main "$@"
`);

/** The launcher is stored content-addressed, so a changed script never alters running attempts. */
export const LAUNCH_SCRIPT_NAME = `launch-${createHash("sha256").update(LAUNCH_SCRIPT).digest("hex").slice(0, 16)}.sh`;
