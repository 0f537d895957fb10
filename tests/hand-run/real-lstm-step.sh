#!/usr/bin/env bash
# The fused LSTM step with real Torch and char-rnn, run by hand (the automated tests check its decisions
# against stand-ins, without Torch):
#   1. the same network, parameters and inputs through char-rnn's nngraph clones and through the fused
#      step, several batches in a row with the state carried between them as train.lua carries it, some
#      forward passes only (as eval_split runs them): the same losses, state and outputs and the same
#      gradients, in float and in double, for several shapes;
#   2. train.lua through the prelude, fused and with CHARRNN_LSTM_STEP=graph, from the same seed: the
#      same train losses iteration by iteration, and checkpoints of the same format;
#   3. what it does not take over (dropout, a GRU, a fork of model/LSTM.lua wired otherwise, which only
#      the step's self-check tells apart) trains through char-rnn's clones and the log says why.
# Prints what it checks; exits non-zero at the first check that fails.
#
#   CHARRNN_REAL_TH=/opt/torch/install/bin/th CHARRNN_REAL_CHARRNN=/opt/rnn-karpathy tests/hand-run/real-lstm-step.sh
#
# CHARRNN_REAL_TH, CHARRNN_REAL_CHARRNN and PYTHON: see real-common.sh.
set -euo pipefail
# shellcheck source=tests/hand-run/real-common.sh
. "$(dirname "$0")/real-common.sh"

cat >"$work/compare.lua" <<'LUA'
-- th compare.lua <lstm_step.lua> <float|double> <rnn_size> <num_layers> <seq_length> <batch_size>
require 'torch'; require 'nn'; require 'nngraph'
require 'util.OneHot'; require 'util.misc'
local model_utils = require 'util.model_utils'
local LSTM = require 'model.LSTM'
local step = dofile(arg[1])
torch.setdefaulttensortype(arg[2] == 'double' and 'torch.DoubleTensor' or 'torch.FloatTensor')
torch.manualSeed(7)
local V, H, n, T, B = 65, tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
local proto = LSTM.lstm(V, H, n, 0)
local params, grads = model_utils.combine_all_parameters(proto)
params:uniform(-0.08, 0.08)
local graph = model_utils.clone_many_times(proto, T)
local criteria = model_utils.clone_many_times(nn.ClassNLLCriterion(), T)
local layout = assert(step.layout(proto))
local sequence = step.sequence(layout, T)
local fused = {}
for t = 1, T do fused[t] = step.step_class()(sequence, t) end
local init = {}
for L = 1, 2 * n do init[L] = torch.zeros(B, H) end
-- train.lua's feval (backward = true) and eval_split (false), the state carried by reference
local function pass(clones, state, x, y, backward)
  if backward then grads:zero() end
  local rnn_state, preds, loss = {[0] = state}, {}, 0
  for t = 1, T do
    local lst = clones[t]:forward{x[t], unpack(rnn_state[t - 1])}
    rnn_state[t] = {}
    for i = 1, #init do rnn_state[t][i] = lst[i] end
    preds[t] = lst[#lst]
    loss = loss + criteria[t]:forward(preds[t], y[t])
  end
  local outputs = torch.cat(preds, 1):clone()
  if backward then
    local d = {[T] = clone_list(init, true)}
    for t = T, 1, -1 do
      table.insert(d[t], criteria[t]:backward(preds[t], y[t]))
      local dl = clones[t]:backward({x[t], unpack(rnn_state[t - 1])}, d[t])
      d[t - 1] = {}
      for k, v in pairs(dl) do if k > 1 then d[t - 1][k - 1] = v end end
    end
  end
  return loss / T, outputs, grads:clone(), rnn_state[T]
end
-- relative difference; abs() is in place in Torch, hence the copies
local function rel(a, b) return a:clone():add(-1, b):abs():max() / math.max(a:clone():abs():max(), 1e-30) end
local sg, sf = clone_list(init), clone_list(init)
local worst = {loss = 0, outputs = 0, grads = 0, state = 0}
for it = 1, 6 do
  local x = torch.Tensor(T, B):random(1, V)
  local y = torch.Tensor(T, B):random(1, V)
  local backward = it % 3 ~= 0
  local lg, og, gg, sg2 = pass(graph, sg, x, y, backward)
  local lf, of, gf, sf2 = pass(fused, sf, x, y, backward)
  worst.loss = math.max(worst.loss, math.abs(lg - lf) / lg)
  worst.outputs = math.max(worst.outputs, rel(og, of))
  for i = 1, #init do worst.state = math.max(worst.state, rel(sg2[i], sf2[i])) end
  if backward then
    worst.grads = math.max(worst.grads, rel(gg, gf))
    params:add(-0.5, gg)
  end
  sg, sf = sg2, sf2
end
print(string.format('WORST loss=%.3e outputs=%.3e state=%.3e gradients=%.3e', worst.loss, worst.outputs,
                    worst.state, worst.grads))
LUA

echo "== 1. char-rnn's clones against the fused step: same network, parameters and batches"
for precision in float double; do
  for shape in "32 2 10 8" "64 3 7 5" "16 1 5 3" "16 2 1 4" "128 2 50 50"; do
    read -r size layers seq batch <<<"$shape"
    out=$(cd "$char_rnn" && "$th" "$work/compare.lua" "$repo/lua/charrnn_lstm_step.lua" "$precision" "$size" "$layers" "$seq" "$batch" 2>&1) \
      || { echo "$out" | tail -n 20 >&2; fail "compare.lua $precision $shape"; }
    line=$(grep '^WORST' <<<"$out" | tr -d '\t')
    limit=$([ "$precision" = float ] && echo 1e-5 || echo 1e-12)
    "$python" - "$line" "$limit" <<'PY' || fail "$precision, rnn_size $size, $layers layers, seq $seq, batch $batch: $line (limit $limit)"
import re, sys
values = [float(v) for v in re.findall(r'=([0-9.e+-]+)', sys.argv[1])]
sys.exit(0 if len(values) == 4 and max(values) < float(sys.argv[2]) else 1)
PY
    ok "$precision, rnn_size $size, $layers layers, seq $seq, batch $batch: ${line#WORST } (relative, limit $limit)"
  done
done

mkdir -p "$work/data"
head -c 40000 "$char_rnn/data/tinyshakespeare/input.txt" >"$work/data/input.txt"
model=(-rnn_size 32 -num_layers 2 -seq_length 10 -batch_size 10 -eval_val_every 50 -seed 123 -print_every 1)
train() {  # log name, environment assignments..., -- train.lua flags (CHARRNN_DIR: another checkout)
  local log=$work/$1.log
  shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  (cd "${CHARRNN_DIR:-$char_rnn}" && env "${envs[@]}" "$th" "$prelude" float train.lua "${model[@]}" "$@" -data_dir "$work/data" \
      -checkpoint_dir "$work/cv" -gpuid -1) >"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "train.lua $* exited non-zero"; }
  echo "$log"
}
losses() { sed -n 's/^[0-9]*\/[0-9]* (epoch [0-9.]*), train_loss = \([0-9.]*\),.*/\1/p' "$1"; }

echo "== 2. train.lua through the prelude, fused and with char-rnn's clones, from the same seed"
fused_log=$(train fused TERM=dumb -- -max_epochs 0.4 -savefile fused)
graph_log=$(train graph CHARRNN_LSTM_STEP=graph -- -max_epochs 0.4 -savefile graph)
grep -q '^\[charrnn\] LSTM step fused: 2 layers of 32, 10 steps per sequence' "$fused_log" \
  || fail "the prelude did not fuse the LSTM step: $(grep '^\[charrnn\]' "$fused_log")"
grep -q "^\[charrnn\] LSTM step not fused (CHARRNN_LSTM_STEP=graph)" "$graph_log" || fail "graph mode not reported"
ok "the log says which: $(grep '^\[charrnn\] LSTM' "$fused_log" | tr -d '\t')"
"$python" - <(losses "$fused_log") <(losses "$graph_log") <<'PY' || fail "train losses differ"
import sys
fused, graph = ([float(v) for v in open(p)] for p in sys.argv[1:])
assert len(fused) == len(graph) > 100, (len(fused), len(graph))
worst = max(abs(a - b) / b for a, b in zip(fused, graph))
print('   %d iterations: train loss %.4f -> %.4f fused, %.4f -> %.4f clones; largest relative difference %.2e'
      % (len(fused), fused[0], fused[-1], graph[0], graph[-1], worst))
sys.exit(0 if worst < 1e-4 else 1)
PY
ok "the same train losses, iteration by iteration"
for kind in fused graph; do
  ls "$work/cv"/lm_${kind}_epoch*.t7 >/dev/null 2>&1 || fail "no checkpoint of the $kind run"
done
ok "both saved checkpoints: $(cd "$work/cv" && printf '%s ' lm_fused_*)"

echo "== 3. what the step does not take over trains through char-rnn's clones"
drop_log=$(train dropout TERM=dumb -- -max_epochs 0.05 -dropout 0.2 -savefile dropout)
grep -q "^\[charrnn\] LSTM step not fused (dropout): training through char-rnn's clones" "$drop_log" \
  || fail "dropout: $(grep '^\[charrnn\]' "$drop_log")"
ok "dropout 0.2: $(grep '^\[charrnn\] LSTM' "$drop_log" | tr -d '\t')"
gru_log=$(train gru TERM=dumb -- -max_epochs 0.05 -model gru -savefile gru)
grep -q "^\[charrnn\] LSTM step not fused (not char-rnn's LSTM" "$gru_log" || fail "gru: $(grep '^\[charrnn\]' "$gru_log")"
ok "GRU: $(grep '^\[charrnn\] LSTM' "$gru_log" | tr -d '\t')"
# A fork with the same modules and shapes, its output gate and cell input swapped: layout() cannot tell it
# from char-rnn's LSTM, the self-check must.
mkdir -p "$work/fork"
cp -r "$char_rnn/train.lua" "$char_rnn/model" "$char_rnn/util" "$work/fork/"
sed -i -e 's/local out_gate = nn.Sigmoid()(n3)/local out_gate = nn.Sigmoid()(n4)/' \
  -e 's/local in_transform = nn.Tanh()(n4)/local in_transform = nn.Tanh()(n3)/' "$work/fork/model/LSTM.lua"
grep -q 'nn.Sigmoid()(n4)' "$work/fork/model/LSTM.lua" || fail "could not make the fork"
fork_log=$(CHARRNN_DIR=$work/fork train fork TERM=dumb -- -max_epochs 0.05 -savefile fork)
grep -q "^\[charrnn\] LSTM step not fused (its self-check differs from the network" "$fork_log" \
  || fail "fork: $(grep '^\[charrnn\]' "$fork_log")"
ok "a fork wired otherwise: $(grep '^\[charrnn\] LSTM' "$fork_log" | tr -d '\t')"
for log in "$drop_log" "$gru_log" "$fork_log"; do
  [ "$(losses "$log" | wc -l)" -gt 5 ] || fail "$(basename "$log" .log) did not train"
done
ok "all three trained"
echo "all LSTM step checks passed"
