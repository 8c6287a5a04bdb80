#!/usr/bin/env bash
# `make lint`'s shell half: shellcheck (Debian package, installed when missing) over every shell
# script in the repository: *.sh files and extension-less files whose first line names a shell.
set -euo pipefail
LOG_TAG=shellcheck
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HACK_ROOT"

command -v shellcheck >/dev/null 2>&1 || apt_install_missing shellcheck

scripts=()
while IFS= read -r -d '' f; do
  [[ -f $f ]] || continue
  if [[ $f == *.sh ]]; then scripts+=("$f"); continue; fi
  first=""
  IFS= read -r first <"$f" || true
  [[ $first =~ ^\#!.*(ba|da|)sh([[:space:]]|$) ]] && scripts+=("$f")
done < <(git ls-files -z --cached --others --exclude-standard -- ':!:node_modules' ':!:dist')

((${#scripts[@]})) || die "no shell scripts found"
shellcheck "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
