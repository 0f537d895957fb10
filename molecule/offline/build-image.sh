#!/usr/bin/env bash
# Builds a Debian test image from Debian's package mirror (debootstrap + docker import), because no
# container registry is reachable where the tests run. Reuses the image when it already exists.
#
#   build-image.sh <suite> <image-tag>             a box as a cloud image ships it: python3 for Ansible, sudo
#                                                  for become, ca-certificates for HTTPS; the rest is the roles'
#   build-image.sh --systemd <suite> <image-tag>   one that boots systemd as PID 1, for the supervision tests:
#                                                  also logind and pam_systemd (a lingering user's manager needs
#                                                  them) and GNU screen, which the roles would install
#
# e.g. build-image.sh bookworm charrnn-test/debian:12, build-image.sh --systemd bookworm charrnn-systemd/debian:12
set -euo pipefail

packages=python3,sudo,ca-certificates
command='["sleep", "infinity"]'
if [ "${1:-}" = --systemd ]; then
  shift
  packages=systemd,systemd-sysv,dbus,libpam-systemd,python3,sudo,screen
  command='["/sbin/init"]'
fi
suite=${1:?suite, e.g. bookworm}
tag=${2:?image tag, e.g. charrnn-test/debian:12}
mirror=${CHARRNN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$tag" >/dev/null 2>&1 && [ "${CHARRNN_REBUILD_IMAGES:-0}" != 1 ]; then
  echo "image $tag exists"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change "CMD $command" \
  --change 'ENV LANG=C.UTF-8' \
  - "$tag" >/dev/null
echo "built $tag from $suite"
