#!/usr/bin/env bash
# The checkpoints the prelude has train.lua save on request, with real Torch and char-rnn, run by hand
# (the automated tests use LuaJIT with a stand-in for torch, and the stand-in trainer):
#   1. started as the train module starts it (the stop signals blocked, OpenBLAS with two threads), a
#      trainer sent SIGTERM mid-run finishes the iteration under way, saves it as a checkpoint with a
#      validation loss, says so and exits 0; the seconds from the signal to the exit are printed;
#   2. plain `th sample.lua` samples that checkpoint and plain `th train.lua -init_from` resumes from it;
#   3. with CHARRNN_CHECKPOINT_SECONDS, a checkpoint comes after that much wall time, between char-rnn's own;
#   4. started plainly (nothing blocked), the trainer says why it has no checkpoint on a stop, and
#      SIGTERM ends it as it ends char-rnn.
# Prints what it checks; exits non-zero at the first check that fails.
#
#   CHARRNN_REAL_TH=/opt/torch/bin/th CHARRNN_REAL_CHARRNN=/opt/rnn-karpathy tests/hand-run/real-stop-checkpoint.sh
#
# CHARRNN_REAL_TH, CHARRNN_REAL_CHARRNN and PYTHON: see real-common.sh.
set -euo pipefail
# shellcheck source=tests/hand-run/real-common.sh
. "$(dirname "$0")/real-common.sh"

# Two OpenBLAS threads: a signal sent to the process reaches any thread that does not block it.
export OPENBLAS_NUM_THREADS=2
mkdir -p "$work/data"
head -c 200000 "$char_rnn/data/tinyshakespeare/input.txt" >"$work/data/input.txt"
model=(-rnn_size 64 -num_layers 2 -seq_length 50 -batch_size 50 -eval_val_every 100000 -max_epochs 50 -seed 123)
mapfile -d '' -t blocking < <(collection_python '
import sys
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import requested_checkpoints as _requested_checkpoints
sys.stdout.write("\0".join(_requested_checkpoints.trainer_exec(sys.argv[1], True)))' "$python")

# start <log> <blocked|plain> [env...]: a float trainer in the background; sets $pid
start() {
  local log=$1 how=$2
  shift 2
  local prefix=()
  [ "$how" = blocked ] && prefix=("${blocking[@]}")
  (cd "$char_rnn" && exec env "$@" "${prefix[@]}" "$th" "$prelude" float train.lua "${model[@]}" \
    -data_dir "$work/data" -checkpoint_dir "$work/cv" -gpuid -1) >"$log" 2>&1 &
  pid=$!
}
wait_for_line() {  # log, pattern, seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$2" "$1" && return 0
    sleep 0.1
  done
  tail -n 20 "$1" >&2
  fail "no line matching '$2' in $1 within $3 s"
}

echo "1. SIGTERM to a trainer started as the train module starts it"
log=$work/stop.log
start "$log" blocked
wait_for_line "$log" '^40/' 120
sent=$(date +%s.%N)
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
ended=$(date +%s.%N)
[ "$status" = 0 ] || { tail -n 20 "$log" >&2; fail "the trainer exited $status after SIGTERM, not 0"; }
stopped=$(grep -a '^\[charrnn\] stopped on SIGTERM after saving ' "$log" | tr -d '\t') \
  || { tail -n 20 "$log" >&2; fail "no '[charrnn] stopped on SIGTERM' line"; }
saved=${stopped#* after saving }
saved=${saved% at iteration *}
iteration=${stopped##* }
[ -s "$saved" ] || fail "the checkpoint it names, $saved, is not there"
grep -aq "^saving checkpoint to $saved" "$log" || fail "train.lua did not announce $saved"
grep -aq "^$iteration/" "$log" || fail "no progress line of iteration $iteration before the stop"
[[ "$(basename "$saved")" =~ ^lm_lstm_epoch[0-9.]+_[0-9]+\.[0-9]{4}\.t7$ ]] \
  || fail "$saved is not named as char-rnn names checkpoints (with a validation loss)"
ok "$(sed -n 's/^\[charrnn\] \(SIGTERM received.*\)/\1/p' "$log" | tr -d '\t'); $stopped"
ok "exit 0, $(awk -v a="$sent" -v b="$ended" 'BEGIN { printf "%.2f", b - a }') s from SIGTERM to the exit"

echo "2. char-rnn's own sample.lua and train.lua read it"
out=$(cd "$char_rnn" && "$th" sample.lua "$saved" -gpuid -1 -length 200 -seed 7 -verbose 0 2>&1) \
  || { echo "$out" | tail -n 20 >&2; fail "th sample.lua $saved failed"; }
[ "${#out}" -ge 200 ] || fail "th sample.lua printed ${#out} characters, not 200"
ok "th sample.lua $(basename "$saved"): $(head -c 60 <<<"$out" | tr '\n' ' ')..."
resumed=$work/resume.log
(cd "$char_rnn" && "$th" train.lua "${model[@]}" -max_epochs 0.2 -init_from "$saved" -savefile resumed \
  -data_dir "$work/data" -checkpoint_dir "$work/cv" -gpuid -1) >"$resumed" 2>&1 \
  || { tail -n 20 "$resumed" >&2; fail "plain th train.lua -init_from $saved failed"; }
grep -aq "^loading a model from checkpoint $saved" "$resumed" || fail "train.lua did not load $saved"
ok "plain th train.lua -init_from resumed and trained: $(grep -a '^[0-9]*/[0-9]* (epoch' "$resumed" | tail -n 1 | cut -d, -f1-2)"

echo "3. a checkpoint every CHARRNN_CHECKPOINT_SECONDS of wall time"
log=$work/time.log
start "$log" blocked CHARRNN_CHECKPOINT_SECONDS=5
wait_for_line "$log" '^saving checkpoint to ' 60
sleep 6
kill -TERM "$pid"
wait "$pid" || true
mapfile -t saves < <(grep -a '^saving checkpoint to ' "$log" | tr -d '\t')
[ "${#saves[@]}" -ge 3 ] || fail "${#saves[@]} checkpoints in about 12 s with CHARRNN_CHECKPOINT_SECONDS=5: ${saves[*]}"
ok "${#saves[@]} checkpoints in about 12 s with eval_val_every 100000, the last the stop's: ${saves[*]##*/}"

echo "4. started plainly, nothing blocks the signals in OpenBLAS's thread"
log=$work/plain.log
start "$log" plain
wait_for_line "$log" '^20/' 120
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 143 ] || fail "the plain trainer exited $status after SIGTERM, not 143"
grep -aq '^\[charrnn\] no checkpoint on SIGTERM, SIGINT or SIGHUP (thread [0-9]* of the trainer does not block them' "$log" \
  || { tail -n 20 "$log" >&2; fail "no line saying why a stop saves nothing"; }
ok "$(grep -a '^\[charrnn\] no checkpoint' "$log" | tr -d '\t' | cut -c1-110)...; SIGTERM ended it (143)"
echo "all checks passed"
