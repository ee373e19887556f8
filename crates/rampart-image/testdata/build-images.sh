#!/usr/bin/env bash
# Build the real test images for rampart-image, once, into OUT (default
# target/rampart-test-images). Rebuilt only when missing (or when VERSION changes).
#
#   OUT/layout           OCI layout, tags `latest` and `v1`:
#                          layer 0  debootstrap --variant=minbase bookworm (real dpkg db)
#                          layer 1  Python dist-info, node_modules, a planted secret,
#                                   a setuid file, a world-writable file
#                          layer 2  deletes the planted secret (a whiteout)
#                        config: no USER, ENV DB_PASSWORD=…, EXPOSE 22/tcp
#   OUT/image.docker.tar docker-archive of the same image (skopeo)
#   OUT/image.oci.tar    oci-archive of the same image (skopeo)
#
# Needs root, debootstrap, umoci, skopeo, and a Debian mirror in apt's sources (or an
# existing rootfs in $PEERS/rootfs/bookworm-minbase, which is reused).
set -euo pipefail
VERSION=5
OUT="${1:-$(cd "$(dirname "$0")/../../.." && pwd)/target/rampart-test-images}"
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ -f "$OUT/done-v$VERSION" ]; then exit 0; fi
log() { echo "[build-images] $*" >&2; }
# Unmount everything mounted at or below $1, deepest first.
unmount_under() {
  local dir m
  dir=$(realpath "$1")
  findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d' | sort -r |
    while read -r m; do
      log "unmounting $m (left mounted by debootstrap)"
      umount "$m" 2>/dev/null || umount -l "$m"
    done
}
# The rootfs must be plain files on one file system, and of a sane size.
check_rootfs() {
  unmount_under "$1"
  if findmnt -rn -o TARGET | grep -q "^$(realpath "$1")/"; then
    log "something is still mounted under $1"; exit 3
  fi
  local mb
  mb=$(du -smx "$1" | cut -f1)
  if [ "$mb" -gt 2048 ]; then log "$1 is $mb MB: not a minbase rootfs"; exit 3; fi
}
for t in debootstrap umoci skopeo; do
  command -v "$t" >/dev/null || { log "missing $t"; exit 3; }
done
unmount_under "$OUT"
rm -rf --one-file-system "$OUT/layout" "$OUT/bundle" "$OUT"/image.*.tar "$OUT"/done-v*

rootfs="$OUT/rootfs"
if [ ! -f "$rootfs/var/lib/dpkg/status" ]; then
  peers_rootfs="${PEERS:-$HOME/peers}/rootfs/bookworm-minbase"
  rm -rf "$rootfs"
  if [ -f "$peers_rootfs/var/lib/dpkg/status" ]; then
    log "copying $peers_rootfs"
    cp -a "$peers_rootfs" "$rootfs"
  else
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || { log "no Debian mirror in apt's sources"; exit 3; }
    log "debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" > "$OUT/debootstrap.log" 2>&1
    # debootstrap can leave the chroot's /proc (or /sys, /dev/pts) mounted; copying
    # that into the image once filled a CI machine's disk (37 GB of /proc and counting).
    unmount_under "$rootfs.tmp"
    mv "$rootfs.tmp" "$rootfs"
  fi
fi

L="$OUT/layout"
B="$OUT/bundle"
umoci init --layout "$L"
umoci new --image "$L:v1"
umoci config --image "$L:v1" --os linux --architecture amd64 \
  --config.cmd /bin/bash \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env DB_PASSWORD=s3cr3t-Passw0rd-for-tests \
  --config.exposedports 22/tcp
umoci unpack --image "$L:v1" "$B"
rm -rf "$B/rootfs"
check_rootfs "$rootfs"
cp -a --one-file-system "$rootfs" "$B/rootfs"
umoci repack --refresh-bundle --image "$L:v1" --history.created_by "debootstrap --variant=minbase bookworm" "$B"

# Layer 1: language packages, a planted secret, setuid and world-writable files.
R="$B/rootfs"
sp="$R/usr/lib/python3/dist-packages"
mkdir -p "$sp/requests-2.25.0.dist-info" "$sp/urllib3-1.26.4.dist-info" "$sp/requests"
printf 'Metadata-Version: 2.1\nName: requests\nVersion: 2.25.0\nLicense: Apache 2.0\n\nPython HTTP for Humans.\n' > "$sp/requests-2.25.0.dist-info/METADATA"
printf 'requests/__init__.py,,\n' > "$sp/requests-2.25.0.dist-info/RECORD"
printf 'Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.4\nLicense: MIT\n\n' > "$sp/urllib3-1.26.4.dist-info/METADATA"
printf 'urllib3/__init__.py,,\n' > "$sp/urllib3-1.26.4.dist-info/RECORD"
printf '__version__ = "2.25.0"\n' > "$sp/requests/__init__.py"
mkdir -p "$R/app/node_modules/lodash" "$R/app/node_modules/@types/node" "$R/app/config"
printf '{"name":"lodash","version":"4.17.20","license":"MIT","main":"lodash.js"}\n' > "$R/app/node_modules/lodash/package.json"
printf 'module.exports = {};\n' > "$R/app/node_modules/lodash/lodash.js"
printf '{"name":"@types/node","version":"20.11.5","license":"MIT"}\n' > "$R/app/node_modules/@types/node/package.json"
printf '{"name":"demo-app","version":"1.0.0","dependencies":{"lodash":"4.17.20"}}\n' > "$R/app/package.json"
# A planted secret (a fake AWS key pair), deleted again by the next layer.
printf 'AWS_ACCESS_KEY_ID=AKIAQ7RJ3KD5PLMN2XYZ\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYz3Kq8Lm2Zt\n' > "$R/app/config/credentials.env"
cp "$R/usr/bin/env" "$R/usr/local/bin/rampart-suid-helper"
chmod 4755 "$R/usr/local/bin/rampart-suid-helper"
printf 'shared\n' > "$R/app/shared.txt"
chmod 0666 "$R/app/shared.txt"
umoci repack --refresh-bundle --image "$L:v1" --history.created_by "COPY app/ /app/ # python, node, secret, setuid" "$B"

# Layer 2: delete the secret (a whiteout; the file is still in layer 1).
rm -f "$R/app/config/credentials.env"
umoci repack --refresh-bundle --image "$L:v1" --history.created_by "RUN rm /app/config/credentials.env" "$B"
umoci tag --image "$L:v1" latest
umoci gc --layout "$L"
rm -rf "$B"

skopeo copy -q "oci:$L:v1" "docker-archive:$OUT/image.docker.tar:rampart-test:v1"
skopeo copy -q "oci:$L:v1" "oci-archive:$OUT/image.oci.tar:v1"
touch "$OUT/done-v$VERSION"
log "built $OUT ($(grep -c '^Package:' "$rootfs/var/lib/dpkg/status") dpkg packages)"
