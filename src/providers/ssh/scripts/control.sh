#!/usr/bin/env bash
# aml-compute-operator control script, sent on stdin ("bash -s -- <command> <args>") for every
# short operation. Static text; arguments arrive as quoted argv. Prints key=value lines.
set -u

# Attempts that hold a slot: started, no exit_code yet, and the launcher alive (or just started).
live_runs() { # <workdir>
  local n=0 d pid
  for d in "$1"/runs/*/*/; do
    [ -d "${d}started" ] || continue
    [ -e "${d}exit_code" ] && continue
    pid=$(cat "${d}pid" 2>/dev/null)
    if [ -z "$pid" ]; then
      # The launcher writes pid first thing; a pid-less start older than 60 s never ran.
      [ -n "$(find "${d}started" -maxdepth 0 -newermt '-60 seconds' 2>/dev/null)" ] && n=$((n + 1))
    elif launcher_alive "$pid" "${d%/}"; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}

# kill -0 alone would accept a recycled pid; the launcher's argv names its run directory.
launcher_alive() { # <pid> <run dir>
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/cmdline" ] || return 0
  local args # captured first: a pipe into grep -q can lose its producer to SIGPIPE
  args=$(tr '\0' '\n' <"/proc/$1/cmdline")
  grep -qxF -- "$2" <<<"$args"
}

prepare() { # <workdir> [<uid> <attempt> <launcher name> [<runner name>]]: layout, absolute path, state of one run
  mkdir -p -- "$1" && cd -- "$1" && mkdir -p envs runs bin || return 1
  echo "workdir=$(pwd -P)"
  command -v conda >/dev/null 2>&1 && echo "conda=1"
  if [ $# -ge 4 ]; then
    mkdir -p -- "runs/$2/$3" || return 1
    [ -d "runs/$2/$3/started" ] && echo "run_started=1"
    [ -e "runs/$2/$3/queued_at" ] && echo "run_queued=1"
    [ -f "bin/$4" ] && echo "launcher=1"
    [ $# -ge 5 ] && [ -f "bin/$5" ] && echo "runner=1"
  fi
  return 0
}

# Queued attempts older than this run's entry (FIFO). Entries not refreshed (by observe) for 15
# minutes belong to runs nobody watches any more and stop blocking others.
queue_ahead() { # <run dir> <workdir>
  local run=$1 mine ahead=0 q d
  mine=$(cat "$run/queued_at" 2>/dev/null) || { echo 0; return; }
  for q in "$2"/runs/*/*/queued_at; do
    d=${q%/queued_at}
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
  local run=$1 max=$2 launcher=$3 wd=${1%/*/*/*} live ahead
  [ -d "$run/started" ] && { echo admit=already; return; }
  [ -e "$run/canceled" ] && { echo admit=canceled; return; }
  if ! { exec 9>"$wd/admission.lock" && flock -w 20 9; }; then echo admit=busy; return; fi
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
  # Why the runner refused the snapshot (no URL in it: the runner names blobs, never the store).
  [ -s "$run/materialize.err" ] && echo "detail=$(head -c 400 "$run/materialize.err" | tr '\n' ' ')"
  [ -f "$run/output.log" ] && echo "log_bytes=$(stat -c %s "$run/output.log")"
  echo "---"
  [ -f "$run/output.log" ] && tail -c 8192 "$run/output.log"
  return 0
}

# Read-only but for one heartbeat: a queued attempt's entry is touched (so it stays in the queue)
# and reported admissible when a slot is free; the controller then calls submit, which admits it.
observe() { # <run dir> <max>
  local run=$1 max=$2 wd=${1%/*/*/*} live ahead
  if [ -d "$run" ] && [ ! -d "$run/started" ] && [ ! -e "$run/canceled" ] && [ -e "$run/queued_at" ]; then
    touch "$run/queued_at"
    live=$(live_runs "$wd")
    ahead=$(queue_ahead "$run" "$wd")
    echo "queue_position=$((ahead + 1))"
    [ "$ahead" -lt $((max - live)) ] && echo admissible=1
  fi
  status "$run"
}

# The launcher's child (the runner) and the command the runner started, each its own process group.
kill_groups() { # <run dir>
  local f pg
  for f in child_pgid command_pgid; do
    pg=$(cat "$1/$f" 2>/dev/null)
    [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null
  done
  return 0
}

cancel() { # <run dir> <container name or "">
  local run=$1 container=$2 pid
  [ -d "$run" ] || { echo cancel=absent; return; }
  : >"$run/canceled"
  pid=$(cat "$run/pid" 2>/dev/null)
  if [ -n "$pid" ] && launcher_alive "$pid" "$run"; then
    kill -TERM "$pid" # the launcher stops its child group (TERM, KILL after grace) and records the exit
    echo cancel=signaled
    return
  fi
  # No launcher: kill whatever it left behind.
  kill_groups "$run"
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1
  echo cancel=done
}

cleanup() { # <run dir> <container name or "">
  local run=$1 pid
  [ -d "$run" ] || { echo cleanup=absent; return; }
  : >"$run/canceled"
  pid=$(cat "$run/pid" 2>/dev/null)
  [ -n "$pid" ] && launcher_alive "$pid" "$run" && kill -KILL "$pid"
  kill_groups "$run"
  [ -n "$2" ] && docker rm -f "$2" >/dev/null 2>&1
  rm -rf -- "$run"
  rmdir -- "${run%/*}" 2>/dev/null
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
