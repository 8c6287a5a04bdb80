# shellcheck shell=bash
# Shared functions for the scripts under hack/. Source it; it defines functions and a few
# variables and runs nothing else:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"     (from hack/)
#
#   HACK_ROOT   the repository root          CACHE   the cache folder shared by every clone
#   LOG_TAG     prefix of say/log/die lines (each script sets its own)
#
# Rule for every script here: never pipe a producer into `grep -q` (or `head`) under
# `set -o pipefail`. grep exits at its first match, the producer then dies of SIGPIPE, and the
# pipeline reports failure although the line was there. Capture the output first (`out=$(cmd)`)
# and test that, or use `has_line`.

# shellcheck disable=SC2034 # used by the scripts that source this file
HACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AML_CACHE_DIR:-$HOME/.cache/aml-compute-operator}"
LOG_TAG="${LOG_TAG:-hack}"

say() { printf '%s: %s\n' "$LOG_TAG" "$*" >&2; }
log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }
need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root ($*)"; }

# has_line LINE CMD...   true when CMD succeeds and prints LINE exactly (SIGPIPE-safe).
has_line() {
  local want=$1 out
  shift
  out=$("$@") || return 1
  grep -qxF -- "$want" <<<"$out"
}

# apt_install_missing PKG...   installs the Debian packages that are not installed yet (root).
# `apt-get update` only when the first install attempt fails (lists missing or stale).
apt_install_missing() {
  local missing=() pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  need_root "apt-get install ${missing[*]}"
  log "installing Debian packages: ${missing[*]}"
  local aptlog="$CACHE/logs/apt.log"
  mkdir -p "$CACHE/logs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1 || {
    apt-get update >>"$aptlog" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1 ||
      { tail -n 30 "$aptlog" >&2; die "apt-get install ${missing[*]} failed (log $aptlog)"; }
  }
}

# apt_sources   prints "URI SUITE" for every enabled `deb` entry of this machine's apt sources:
# one-line entries in /etc/apt/sources.list and sources.list.d/*.list, and deb822 stanzas in
# sources.list.d/*.sources. The package mirror is the machine's configuration, never a host name
# written into this repository.
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }   # skip [ options ]
      if (i + 1 <= NF) print $i, $(i + 1)
    }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
    {
      types = ""; uris = ""; suites = ""; enabled = "yes"
      for (l = 1; l <= NF; l++) {
        line = $l
        if (line ~ /^[ \t]*#/) continue
        split(line, kv, ":"); key = tolower(kv[1]); val = substr(line, length(kv[1]) + 2)
        gsub(/^[ \t]+|[ \t]+$/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "enabled") enabled = tolower(val)
      }
      if (enabled == "no" || (" " types " ") !~ / deb /) next
      nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
      for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) print u[a], s[b]
    }' "$f"
  done
}

# debian_mirror SUITE   the archive URI this machine's apt uses for SUITE (e.g. bookworm);
# DEBIAN_MIRROR in the environment overrides it.
debian_mirror() {
  local suite=$1 uri s
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return 0; fi
  while read -r uri s; do
    [[ $s == "$suite" ]] && { echo "${uri%/}"; return 0; }
  done < <(apt_sources)
  die "no apt source for Debian '$suite' in /etc/apt/sources.list{,.d/} (add one, or set DEBIAN_MIRROR)"
}
