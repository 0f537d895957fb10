#!/usr/bin/env bash
# The train.lua prelude with real Torch and char-rnn, run by hand (the automated tests use a stand-in
# for torch and the stand-in trainer):
#   1. a float run (the prelude the train module writes, train.lua unchanged) of a small model trains,
#      keeps learning after each checkpoint (the live model is never re-typed), and saves checkpoints in
#      char-rnn's CPU format: the same keys, options and parameter layout as a checkpoint of char-rnn's
#      own double run, no float tensor;
#   2. plain `th sample.lua <checkpoint> -gpuid -1` samples from the float run's checkpoint;
#   3. plain `th train.lua` (double) resumes from it with -init_from, and a float run resumes from the
#      double run's checkpoint (converted on load); both start from the trained weights, save double
#      checkpoints, and those sample too.
# Prints what it checks; exits non-zero at the first check that fails.
#
#   CHARRNN_REAL_TH=/opt/torch/install/bin/th CHARRNN_REAL_CHARRNN=/opt/rnn-karpathy tests/hand-run/real-precision.sh
#
# CHARRNN_REAL_TH, CHARRNN_REAL_CHARRNN and PYTHON: see real-common.sh.
set -euo pipefail
# shellcheck source=tests/hand-run/real-common.sh
. "$(dirname "$0")/real-common.sh"

mkdir -p "$work/data"
head -c 40000 "$char_rnn/data/tinyshakespeare/input.txt" >"$work/data/input.txt"
# A small model: 380 training batches of 100 characters, a checkpoint every 50 iterations.
model=(-rnn_size 32 -num_layers 2 -seq_length 10 -batch_size 10 -eval_val_every 50 -seed 123)

# What a checkpoint holds: its keys, options, tensor types and parameter layout, and its weights' sum.
cat >"$work/inspect.lua" <<'LUA'
require 'torch'
require 'nn'
require 'nngraph'
require 'util.OneHot'
require 'util.misc'
local c = torch.load(arg[1])
local keys = {}
for k in pairs(c) do keys[#keys + 1] = tostring(k) end
table.sort(keys)
print('KEYS ' .. table.concat(keys, ' '))
local found, seen, todo = {}, {}, {c.protos}
while #todo > 0 do
  local x = table.remove(todo)
  if torch.isTensor(x) then
    found[torch.typename(x)] = true
  elseif type(x) == 'table' and not seen[x] then
    seen[x] = true
    for k, v in pairs(x) do todo[#todo + 1] = k; todo[#todo + 1] = v end
  end
end
local types = {}
for t in pairs(found) do types[#types + 1] = t end
table.sort(types)
print('TYPES ' .. table.concat(types, ' '))
local params = c.protos.rnn:parameters()
local storages, nstorages, sum = {}, 0, 0
for _, p in ipairs(params) do
  local key = torch.pointer(p:storage())
  if not storages[key] then storages[key] = true; nstorages = nstorages + 1 end
  sum = sum + p:sum()
end
print('PARAMS ' .. torch.typename(params[1]) .. ' ' .. #params .. ' tensors in ' .. nstorages .. ' storage(s)')
print(string.format('OPT rnn_size=%d num_layers=%d model=%s seq_length=%d savefile=%s', c.opt.rnn_size,
                    c.opt.num_layers, c.opt.model, c.opt.seq_length, c.opt.savefile))
print(string.format('STATE i=%d val_loss=%.4f sum=%.6f', c.i, c.val_loss, sum))
LUA
inspect() { (cd "$char_rnn" && "$th" "$work/inspect.lua" "$1") | tr -d '\t'; }
field() { sed -n "s/^$1 //p" <<<"$2"; }
# train.lua's logged train losses, one per line.
losses() { sed -n 's/^[0-9]*\/[0-9]* (epoch [0-9.]*), train_loss = \([0-9.]*\),.*/\1/p' "$1"; }
checkpoints() { find "$work/cv" -name "lm_$1_epoch*.t7" -printf '%T@ %p\n' | sort -n | cut -d' ' -f2-; }
train() {  # log name, then the command after th (prelude or train.lua) and its flags
  local log=$work/$1.log
  shift
  (cd "$char_rnn" && "$th" "$@" -data_dir "$work/data" -checkpoint_dir "$work/cv" -gpuid -1) >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; fail "th $* exited non-zero (log above)"; }
  echo "$log"
}
sample() {
  local out
  out=$(cd "$char_rnn" && "$th" sample.lua "$1" -gpuid -1 -length 300 -seed 7 -verbose 0 2>&1) \
    || { echo "$out" | tail -n 20 >&2; fail "th sample.lua $1 -gpuid -1 failed"; }
  [ "${#out}" -ge 300 ] || fail "th sample.lua $1 printed ${#out} characters, not 300"
  ok "th sample.lua $(basename "$1") -gpuid -1 sampled ${#out} characters: $(head -c 60 <<<"$out" | tr '\n' ' ')..."
}

echo "== 1. float run through the prelude, and char-rnn's own double run: same seed, 228 iterations each"
float_log=$(train float "$prelude" float train.lua "${model[@]}" -max_epochs 0.6 -savefile float)
grep -q "^\[charrnn\] precision float: train.lua computes in torch.FloatTensor" "$float_log" \
  || fail "the prelude did not set float (first lines: $(head -n 3 "$float_log"))"
ok "the prelude set torch.FloatTensor and ran train.lua"
grep -q '^\[charrnn\] LSTM step fused: 2 layers of 32' "$float_log" \
  || fail "the float run did not train through the fused LSTM step: $(grep '^\[charrnn\]' "$float_log")"
ok "it trained through the fused LSTM step (tests/hand-run/real-lstm-step.sh compares it with char-rnn's clones)"
train double train.lua "${model[@]}" -max_epochs 0.6 -savefile double >/dev/null
mapfile -t float_ckpts < <(checkpoints float)
mapfile -t double_ckpts < <(checkpoints double)
[ "${#float_ckpts[@]}" -ge 3 ] || fail "the float run saved ${#float_ckpts[@]} checkpoints, expected 3"
[ "${#float_ckpts[@]}" = "${#double_ckpts[@]}" ] || fail "float saved ${#float_ckpts[@]} checkpoints, double ${#double_ckpts[@]}"
f_first=$(inspect "${float_ckpts[0]}")
f_last=$(inspect "${float_ckpts[-1]}")
d_last=$(inspect "${double_ckpts[-1]}")
# The prelude adds the count before the run (epochs_before, iterations_before), which char-rnn never reads.
f_keys=$(field KEYS "$f_last")
d_keys=$(field KEYS "$d_last")
f_own=$(tr ' ' '\n' <<<"$f_keys" | grep -vx -e epochs_before -e iterations_before | paste -sd ' ')
[[ "$f_own" = "$d_keys" && " $f_keys " == *" epochs_before "* && " $f_keys " == *" iterations_before "* ]] \
  || fail "keys differ: float $f_keys, double $d_keys (besides epochs_before and iterations_before)"
ok "char-rnn's own keys ($d_keys), and the count before the run: epochs_before, iterations_before"
[[ "$(field TYPES "$f_last")" != *FloatTensor* ]] || fail "float tensors in the checkpoint: $(field TYPES "$f_last")"
[ "$(field PARAMS "$f_last")" = "$(field PARAMS "$d_last")" ] \
  || fail "parameters differ: float run $(field PARAMS "$f_last"), double run $(field PARAMS "$d_last")"
ok "tensors $(field TYPES "$f_last"); parameters $(field PARAMS "$f_last"), as char-rnn's own"
[ "$(field OPT "$f_last")" = "$(field OPT "${d_last/savefile=double/savefile=float}")" ] \
  || fail "options differ: $(field OPT "$f_last") against $(field OPT "$d_last")"
ok "options saved as given: $(field OPT "$f_last")"
read -r f_sum1 < <(field STATE "$f_first" | sed 's/.*sum=//')
read -r f_sum2 < <(field STATE "$f_last" | sed 's/.*sum=//')
[ "$f_sum1" != "$f_sum2" ] || fail "the first and last float checkpoints hold the same weights (sum $f_sum1)"
ok "the model kept training between checkpoints (weight sums $f_sum1, $f_sum2)"
"$python" - "$(field STATE "$f_first")" "$(field STATE "$f_last")" "$(field STATE "$d_last")" <<'PY' || fail "validation losses"
import re, sys
first, last, double = (float(re.search(r'val_loss=([0-9.]+)', s).group(1)) for s in sys.argv[1:])
print('   validation loss: float %.4f at the first checkpoint, %.4f at the last; double %.4f at the last '
      '(%+.2f%%)' % (first, last, double, 100 * (last - double) / double))
# A model detached from the optimised parameters stops learning; a broken conversion differs grossly.
sys.exit(0 if last < first and abs(last - double) / double < 0.10 else 1)
PY
ok "validation loss fell and is within 10% of double's (the loss-parity benchmark measures it properly)"

echo "== 2. plain sample.lua on the float run's checkpoint"
sample "${float_ckpts[-1]}"

echo "== 3. resume: double from the float run's checkpoint, float from the double run's"
fresh_first=$(losses "$float_log" | head -n 1)
resumed_double_log=$(train resumed-double train.lua "${model[@]}" -max_epochs 0.15 -savefile rd \
  -init_from "${float_ckpts[-1]}")
grep -q "loading a model from checkpoint ${float_ckpts[-1]}" "$resumed_double_log" || fail "train.lua did not load the checkpoint"
! grep -q '^\[charrnn\]' "$resumed_double_log" || fail "plain train.lua printed a prelude line"
resumed_first=$(losses "$resumed_double_log" | head -n 1)
mapfile -t rd_ckpts < <(checkpoints rd)
[ "${#rd_ckpts[@]}" -ge 1 ] || fail "the resumed double run saved no checkpoint"
ok "double train.lua resumed from the float run's checkpoint: first train loss $resumed_first (a fresh model: $fresh_first)"
resumed_float_log=$(train resumed-float "$prelude" float train.lua "${model[@]}" -max_epochs 0.15 -savefile rf \
  -init_from "${rd_ckpts[-1]}")
grep -q "^\[charrnn\] ${rd_ckpts[-1]}: rnn converted from torch.DoubleTensor to torch.FloatTensor" "$resumed_float_log" \
  || fail "the prelude did not convert the double checkpoint (log: $(head -n 5 "$resumed_float_log"))"
ok "the float run converted the double checkpoint on load"
grep -q '^\[charrnn\] LSTM step fused: 2 layers of 32' "$resumed_float_log" \
  || fail "the resumed float run did not train through the fused LSTM step: $(grep '^\[charrnn\]' "$resumed_float_log")"
ok "and trained the loaded model through the fused LSTM step"
resumed_float_first=$(losses "$resumed_float_log" | head -n 1)
mapfile -t rf_ckpts < <(checkpoints rf)
[ "${#rf_ckpts[@]}" -ge 1 ] || fail "the resumed float run saved no checkpoint"
[[ "$(field TYPES "$(inspect "${rf_ckpts[-1]}")")" != *FloatTensor* ]] || fail "the resumed float run saved float tensors"
ok "float resumed from the double run's checkpoint: first train loss $resumed_float_first, saved double"
"$python" - "$fresh_first" "$resumed_first" "$resumed_float_first" <<'PY' || fail "a resumed run started from scratch"
import sys
fresh, resumed_double, resumed_float = map(float, sys.argv[1:])
# Trained weights start far below a fresh model's loss (about ln of the vocabulary size).
sys.exit(0 if resumed_double < fresh - 0.3 and resumed_float < fresh - 0.3 else 1)
PY
ok "both resumed runs started from the trained weights"
sample "${rd_ckpts[-1]}"
sample "${rf_ckpts[-1]}"

echo "all precision checks passed"
