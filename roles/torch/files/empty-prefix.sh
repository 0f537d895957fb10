#!/usr/bin/env bash
# Empties the Torch prefix before build-torch.sh or restore-torch.sh fills it (rnn_bootstrap.charrnn.torch
# role), and marks it as the collection's. Root runs this, so it refuses a directory that holds files
# the collection did not put there: a prefix set to a directory of someone else's is never removed.
#
#   empty-prefix.sh PREFIX
set -euo pipefail

prefix=${1:?}
# What marks a prefix as the collection's: this marker, or the build stamp an install of an earlier
# release has (the role's _charrnn_torch_stamp_name).
marker=.charrnn-prefix
stamp=.charrnn-build.json

if [ -d "$prefix" ] && [ -n "$(ls -A "$prefix")" ] && [ ! -e "$prefix/$marker" ] && [ ! -e "$prefix/$stamp" ]; then
  echo "charrnn torch: $prefix holds files this collection did not install, and it would be emptied." \
    "Set charrnn_torch_prefix to a directory of its own, or empty $prefix first." >&2
  exit 1
fi
rm -rf "$prefix"
mkdir -p "$prefix"
: >"$prefix/$marker"
