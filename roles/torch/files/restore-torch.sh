#!/usr/bin/env bash
# Installs a Torch7 build another host of the same kind made and shared through the controller
# (rnn_bootstrap.charrnn.torch role, charrnn_torch_archive_dir); the role then proves it like a build
# (prove-torch.sh) and stamps it.
#
# From the environment:
#   CHARRNN_TORCH_PREFIX   install prefix, emptied first
#   CHARRNN_TORCH_ARCHIVE  the shared build, a .tar.gz of the prefix of the host that built it
set -euo pipefail

prefix=${CHARRNN_TORCH_PREFIX:?}
archive=${CHARRNN_TORCH_ARCHIVE:?}

echo "== [${SECONDS}s] unpacking $archive into $prefix"
# Files get root's owner and the umask's modes, never the archive's: no setuid bit, nothing
# group- or world-writable.
umask 022
bash "$(dirname "${BASH_SOURCE[0]}")/empty-prefix.sh" "$prefix"
tar --extract --gzip --file "$archive" --directory "$prefix" --no-same-owner --no-same-permissions
