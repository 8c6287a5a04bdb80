# shellcheck shell=bash
# The cluster's images, built locally (nothing can be pulled), cached as OCI archives keyed by
# their declared inputs, and imported into containerd's k8s.io namespace at every `up`.

# Bump when oci_archive or an image's config below changes (part of every image's cache key).
IMAGE_RECIPE=2

# OCI image archive with one uncompressed layer, importable with `ctr images import`.
oci_archive() { # ref layer.tar image-config-json out.tar
  local ref=$1 layer=$2 cfg=$3 out=$4 tmp ldig lsize cdig csize mdig msize
  tmp=$(mktemp -d "$CACHE/tmp.oci.XXXXXX")
  mkdir -p "$tmp/blobs/sha256"
  ldig=$(sha256sum "$layer" | cut -d' ' -f1)
  lsize=$(stat -c %s "$layer")
  ln "$layer" "$tmp/blobs/sha256/$ldig" 2>/dev/null || cp "$layer" "$tmp/blobs/sha256/$ldig"
  printf '{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/cluster/cluster.sh"}]}' \
    "$cfg" "$ldig" >"$tmp/config"
  cdig=$(sha256sum "$tmp/config" | cut -d' ' -f1)
  csize=$(stat -c %s "$tmp/config")
  mv "$tmp/config" "$tmp/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csize" "$ldig" "$lsize" >"$tmp/manifest"
  mdig=$(sha256sum "$tmp/manifest" | cut -d' ' -f1)
  msize=$(stat -c %s "$tmp/manifest")
  mv "$tmp/manifest" "$tmp/blobs/sha256/$mdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$msize" "$ref" "${ref##*:}" >"$tmp/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci-layout"
  tar -C "$tmp" -cf "$out.tmp" oci-layout index.json blobs
  mv -f "$out.tmp" "$out"
  rm -rf "$tmp"
}

PAUSE_TAR=""
TRAINING_TAR=""

ensure_pause_image() {
  local key dir tmp
  # Declared inputs: the pause program's source and module file, the recipe.
  key=$( { echo "pause recipe $IMAGE_RECIPE"; cat "$HERE/pause/main.go" "$HERE/pause/go.mod"; } | sha256sum | cut -c1-16)
  dir="$CACHE/images"
  mkdir -p "$dir"
  PAUSE_TAR="$dir/aml-pause-3.10-$key.oci.tar"
  [[ -s $PAUSE_TAR ]] && return 0
  command -v go >/dev/null 2>&1 || die "Go is needed to build the pause image"
  log "building $PAUSE_IMAGE"
  tmp=$(mktemp -d "$CACHE/tmp.pause.XXXXXX")
  mkdir -p "$tmp/rootfs"
  (cd "$HERE/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/rootfs/pause" .) >>"$LOGS/build-images.log" 2>&1 ||
    { rm -rf "$tmp"; tail_log build-images; die "pause build failed"; }
  tar -C "$tmp/rootfs" --numeric-owner --owner=0 --group=0 -cf "$tmp/layer.tar" pause
  oci_archive "$PAUSE_IMAGE" "$tmp/layer.tar" '{"Entrypoint":["/pause"],"User":"65535:65535","WorkingDir":"/"}' "$PAUSE_TAR"
  rm -rf "$tmp"
}

TRAINING_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","PYTHONUNBUFFERED=1"'
TRAINING_ENV+=',"PIP_DISABLE_PIP_VERSION_CHECK=1","PIP_ROOT_USER_ACTION=ignore","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"'
TRAINING_ENV+=',"PIP_CERT=/etc/ssl/certs/ca-certificates.crt","REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"'
TRAINING_CONFIG="{\"Env\":[$TRAINING_ENV],\"Cmd\":[\"python3\"],\"WorkingDir\":\"/\"}"

ensure_training_image() {
  local rootfs key
  rootfs=$(rootfs_tar "$LOGS/build-images.log")
  # Declared inputs: the rootfs (its name carries its own key), the image config, the recipe.
  key=$(echo "training recipe $IMAGE_RECIPE $(basename "$rootfs") $TRAINING_CONFIG" | sha256sum | cut -c1-16)
  TRAINING_TAR="$CACHE/images/aml-training-py3-$key.oci.tar"
  [[ -s $TRAINING_TAR ]] && return 0
  oci_archive "$TRAINING_IMAGE" "$rootfs" "$TRAINING_CONFIG" "$TRAINING_TAR"
  log "training image cached: $TRAINING_TAR ($(du -h "$TRAINING_TAR" | cut -f1))"
}

image_present() { # ref: true when containerd (namespace CTR_NAMESPACE, default k8s.io) has it
  has_line "$1" ctr_ images ls -q "name==$1"
}

import_image() { # ref archive
  local ref=$1 tarball=$2
  image_present "$ref" && return 0
  ctr_ images import "$tarball" >>"$LOGS/images.log" 2>&1 || { tail_log images; die "importing $tarball failed"; }
  image_present "$ref" || die "image $ref not present after import of $tarball (see $LOGS/images.log)"
}

import_images() {
  import_image "$PAUSE_IMAGE" "$PAUSE_TAR"
  import_image "$TRAINING_IMAGE" "$TRAINING_TAR"
}
