# shellcheck shell=bash
# The one Debian root filesystem every locally built image starts from (nothing can be pulled
# here): the cluster's training image, the RemoteVM test image for Docker mode, and the Node base
# of the operator image. Source it after lib.sh; `rootfs_tar` prints the path of a cached tarball.
#
# The cache key is made of the declared inputs only: suite, mirror, package list, the host CA
# bundle (copied in) and ROOTFS_RECIPE. Bump ROOTFS_RECIPE whenever the recipe below changes.
ROOTFS_RECIPE=2
ROOTFS_SUITE="${ROOTFS_SUITE:-bookworm}"
ROOTFS_PACKAGES="${ROOTFS_PACKAGES:-python3,python3-venv,python3-pip,ca-certificates}"
ROOTFS_CA=/etc/ssl/certs/ca-certificates.crt

rootfs_key() { # mirror
  [[ -s $ROOTFS_CA ]] || die "host CA bundle $ROOTFS_CA missing (apt-get install ca-certificates)"
  { echo "rootfs recipe $ROOTFS_RECIPE suite $ROOTFS_SUITE mirror $1 packages $ROOTFS_PACKAGES"; cat "$ROOTFS_CA"; } |
    sha256sum | cut -c1-16
}

# rootfs_tar [logfile]   prints the path of the cached rootfs tarball, building it on first use:
# `debootstrap --variant=minbase` + ROOTFS_PACKAGES, apt lists and caches removed, docs left
# out, the host's CA bundle (it holds the egress CA that signs package-registry traffic here)
# also as local CAs so update-ca-certificates inside keeps them, no PEP 668 marker (a container
# is its own environment: `pip install` works without a venv), an empty resolv.conf.
rootfs_tar() {
  local buildlog=${1:-$CACHE/logs/rootfs.log} mirror key tar tmp root
  mirror=$(debian_mirror "$ROOTFS_SUITE")
  key=$(rootfs_key "$mirror")
  tar="$CACHE/images/rootfs-$ROOTFS_SUITE-$key.tar"
  if [[ -s $tar ]]; then echo "$tar"; return 0; fi
  need_root "debootstrap"
  apt_install_missing debootstrap
  mkdir -p "$CACHE/images" "$CACHE/debootstrap-debs" "$(dirname "$buildlog")"
  log "building the Debian $ROOTFS_SUITE rootfs (minbase + $ROOTFS_PACKAGES from $mirror; ~1 min; log $buildlog)"
  tmp=$(mktemp -d "$CACHE/tmp.rootfs.XXXXXX"); root="$tmp/rootfs"
  # debootstrap mounts /proc and /sys in the target: never leave them mounted on failure.
  if ! debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" --cache-dir="$CACHE/debootstrap-debs" \
    "$ROOTFS_SUITE" "$root" "$mirror" >>"$buildlog" 2>&1; then
    rootfs_cleanup "$tmp"; tail -n 30 "$buildlog" >&2; die "debootstrap failed (mirror $mirror)"
  fi
  chroot "$root" apt-get clean >>"$buildlog" 2>&1 || true
  rootfs_unmount "$root"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
  cp "$ROOTFS_CA" "$root/etc/ssl/certs/ca-certificates.crt"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  : >"$root/etc/resolv.conf"
  tar -C "$root" --numeric-owner --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/info \
    --exclude=./usr/share/locale --exclude='./proc/*' --exclude='./sys/*' -cf "$tar.tmp" .
  mv -f "$tar.tmp" "$tar"
  rootfs_cleanup "$tmp"
  log "rootfs cached: $tar ($(du -h "$tar" | cut -f1))"
  echo "$tar"
}

rootfs_unmount() { # dir: unmount everything below it, deepest first
  local m
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done < <(
    awk -v p="$1/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r)
}
rootfs_cleanup() { rootfs_unmount "$1"; rm -rf "$1"; }
