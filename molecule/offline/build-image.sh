#!/usr/bin/env bash
# Builds a Debian test image from Debian's package mirror (debootstrap + docker import), because no
# container registry is reachable where this scenario runs. Reuses the image when it already exists.
# Usage: build-image.sh <suite> <image-tag>     e.g. build-image.sh bookworm charrnn-test/debian:12
set -euo pipefail

suite=${1:?suite, e.g. bookworm}
tag=${2:?image tag, e.g. charrnn-test/debian:12}
mirror=${CHARRNN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$tag" >/dev/null 2>&1 && [ "${CHARRNN_REBUILD_IMAGES:-0}" != 1 ]; then
  echo "image $tag exists"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# python3 for Ansible, sudo for become, ca-certificates for HTTPS; everything else is the roles' job.
debootstrap --variant=minbase --include=python3,sudo,ca-certificates "$suite" "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'CMD ["sleep", "infinity"]' \
  --change 'ENV LANG=C.UTF-8' \
  - "$tag" >/dev/null
echo "built $tag from $suite"
