#!/usr/bin/env bash
# Builds a Debian image that boots systemd as PID 1 (debootstrap + docker import, as no registry is
# reachable here), for the supervision tests. It holds what a cloud image ships for this: systemd with
# logind and pam_systemd (a lingering user's manager needs them), python3 and sudo; plus GNU screen,
# which the roles would install. Reuses the image when it already exists.
# Usage: build-image.sh <suite> <image-tag>     e.g. build-image.sh bookworm charrnn-systemd/debian:12
set -euo pipefail

suite=${1:?suite, e.g. bookworm}
tag=${2:?image tag, e.g. charrnn-systemd/debian:12}
mirror=${CHARRNN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$tag" >/dev/null 2>&1 && [ "${CHARRNN_REBUILD_IMAGES:-0}" != 1 ]; then
  echo "image $tag exists"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libpam-systemd,python3,sudo,screen \
  "$suite" "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV LANG=C.UTF-8' \
  - "$tag" >/dev/null
echo "built $tag from $suite"
