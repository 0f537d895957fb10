#!/usr/bin/env bash
# Writes requirements/bootstrap.txt and requirements/bootstrap-el8.txt: the ansible-core releases
# bootstrap.sh installs (the tested range; EL 8's), with every dependency pinned and the hashes of every
# file of each, for every Python bootstrap.sh accepts. Run it when the tested range moves or to take
# newer releases; it needs PyPI and fetches uv into a temporary virtualenv.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
range() { sed -n "s/^$1='\\(.*\\)'$/\\1/p" "$here/bootstrap.sh"; }
min_python=$(sed -n "s/^min_python=//p" "$here/bootstrap.sh")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check uv

lock() {  # lock <core range> <file>
  printf 'ansible-core%s\n' "$1" >"$work/in.txt"
  {
    printf '# ansible-core%s for bootstrap.sh, every file hashed: written by hacking/lock-bootstrap.sh\n' "$1"
    "$work/venv/bin/uv" pip compile --quiet --universal --generate-hashes --no-header \
      --python-version "$min_python" --index-url https://pypi.org/simple "$work/in.txt" \
      | sed '/^    # via/d'
  } >"$here/requirements/$2"
  echo "requirements/$2: $(grep -Ec '^[a-z]' "$here/requirements/$2") pins"
}

mkdir -p "$here/requirements"
lock "$(range tested_core)" bootstrap.txt
lock "$(range el8_core)" bootstrap-el8.txt
