# shellcheck shell=bash
# The scripts that source this file use its variables.
# shellcheck disable=SC2034
# What the hand-run checks with real Torch share (sourced by real-*.sh in this directory): their
# settings, a temporary directory removed on exit, how they report, the train.lua prelude (from lua/,
# as the train module writes it), and the trainer's thread settings.
#
# CHARRNN_REAL_TH: Torch7's th. CHARRNN_REAL_CHARRNN: a char-rnn checkout (only read; data and checkpoints
# go to the temporary directory). PYTHON (default python3) takes what it needs from the collection.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
th=${CHARRNN_REAL_TH:?set CHARRNN_REAL_TH to Torch7 th}
char_rnn=${CHARRNN_REAL_CHARRNN:?set CHARRNN_REAL_CHARRNN to a char-rnn checkout}
python=${PYTHON:-python3}
[ -f "$char_rnn/train.lua" ] || { echo "no train.lua in $char_rnn" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
ok() { echo "   ok: $*"; }

# collection_python <code> [args]: Python with the collection importable, as the modules import it.
collection_python() {
  PYTHONPATH=$repo/.collections "$python" -c "$@"
}

# The train.lua prelude from its source file. The train module preloads the modules it requires into the file
# it writes; run from its source, th finds them through LUA_PATH.
prelude=$repo/lua/charrnn_prelude.lua
export LUA_PATH="$repo/lua/?.lua;${LUA_PATH:-;}"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_WAIT_POLICY=PASSIVE
