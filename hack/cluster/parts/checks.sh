# shellcheck shell=bash
# Self-checks of the cluster's own plumbing, run by `make test` (test/cluster/image-import.test.ts).

# The image import path against an empty image store, as on a machine's first `up`: a throwaway
# containerd namespace gets the pause archive through import_image (import, then verify), and is
# removed again. Also proves has_line is immune to SIGPIPE: the wanted line comes first and the
# producer keeps writing long after grep has its answer (piping a producer into a quiet grep under pipefail
# fails here; that race once failed a cold `make demo` after a successful import).
cmd_check_import() {
  pid_of containerd >/dev/null || die "containerd is not running (make cluster-up)"
  has_line first-line bash -c 'echo first-line; seq 1 300000' ||
    die "has_line missed a line a long producer printed first (SIGPIPE under pipefail?)"
  ensure_pause_image
  local ns="aml-import-check-$$"
  [[ -z $(CTR_NAMESPACE=$ns ctr_ images ls -q) ]] || die "namespace $ns is not empty"
  CTR_NAMESPACE=$ns import_image "$PAUSE_IMAGE" "$PAUSE_TAR"
  CTR_NAMESPACE=$ns image_present "$PAUSE_IMAGE" || die "image $PAUSE_IMAGE missing from $ns after import"
  CTR_NAMESPACE=$ns ctr_ images rm --sync "$PAUSE_IMAGE" >/dev/null
  ctr --address "$CTRD_SOCK" namespaces rm "$ns" >/dev/null || log "warning: could not remove containerd namespace $ns"
  echo "image import into an empty store: ok ($PAUSE_IMAGE in throwaway namespace $ns)"
}
