# shellcheck shell=bash
# Process bookkeeping for everything the cluster starts: pid files hold "<pid> <starttime>" so a
# recycled pid is never taken for ours; every process runs in its own session (process group).

proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }

pid_of() { # name: prints the pid if the recorded process is still the one we started
  local f="$PIDS/$1.pid" pid start
  [[ -f $f ]] || return 1
  read -r pid start <"$f" || return 1
  [[ -n ${pid:-} && -d /proc/$pid && "$(proc_start "$pid")" == "$start" ]] || return 1
  echo "$pid"
}

start_bg() { # name cmd...   runs in its own session, logs to .cluster/logs/name.log
  local name=$1 fd
  shift
  # Long-lived components inherit nothing but stdio: not this script's lock fds (8, 9), and not
  # a caller's pipes (a caller waiting for EOF would otherwise hang while the cluster runs).
  (
    for fd in "/proc/$BASHPID"/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-"
    done
    exec setsid "$@"
  ) >>"$LOGS/$name.log" 2>&1 </dev/null &
  local pid=$!
  sleep 0.05
  echo "$pid $(proc_start "$pid")" >"$PIDS/$name.pid"
}

stop_pid() { # name [timeout] [group]   SIGTERM, then SIGKILL after timeout; "group" = its whole session
  local name=$1 t=${2:-20} group=${3:-} pid i target
  pid=$(pid_of "$name") || { rm -f "$PIDS/$name.pid"; return 0; }
  target=$pid
  [[ -n $group ]] && target=-$pid # setsid made the process its group's leader
  kill -TERM -- "$target" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
  if [[ -d /proc/$pid ]]; then
    log "$name (pid $pid) ignored SIGTERM for ${t}s: SIGKILL"
    kill -KILL -- "$target" 2>/dev/null || true
    sleep 0.2
  fi
  [[ -z $group ]] || kill -KILL -- "$target" 2>/dev/null || true # children that outlived the leader
  rm -f "$PIDS/$name.pid"
  log "stopped $name (pid $pid)"
}

wait_for() { # description timeout_seconds logname command...
  local what=$1 t=$2 lg=$3
  shift 3
  local deadline=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      tail_log "$lg" 60
      die "timed out after ${t}s waiting for $what (log: $LOGS/$lg.log)"
    fi
    if [[ $lg != - ]] && [[ -f $PIDS/$lg.pid ]] && ! pid_of "$lg" >/dev/null; then
      tail_log "$lg" 60
      die "$lg exited while waiting for $what (log: $LOGS/$lg.log)"
    fi
    sleep 0.5
  done
}

port_listeners() { ss -Hltnp "sport = :$1" 2>/dev/null || true; }
port_free() { [[ -z $(port_listeners "$1") ]]; }
check_port() { # port component
  port_free "$1" && return 0
  local who
  who=$(port_listeners "$1")
  die "port $1 (for $2) is already in use by something this script did not start: ${who%%$'\n'*}"
}
