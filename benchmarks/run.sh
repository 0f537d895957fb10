#!/usr/bin/env bash
# Every benchmark of benchmarks/README.md, each printing its figures:
#
#   CHARRNN_GIT_MIRROR_PATH=<dir of bare repositories> benchmarks/run.sh            all of them
#   CHARRNN_GIT_MIRROR_PATH=... benchmarks/run.sh bootstrap throughput pytorch loss-parity first-checkpoint
#
#   bootstrap         cold / warm / further-host bootstrap against torch/distro's install.sh, on fresh
#                     Debian 12 containers (benchmarks/bootstrap.sh)
#   throughput        char-rnn's default model, s/batch for every OpenMP x OpenBLAS thread setting, in
#                     double (char-rnn itself), float (the collection's default, the fused LSTM step) and
#                     float through char-rnn's clones, runs taken in turn
#   pytorch           the same model shape in PyTorch on the CPU, as the reference; after throughput in
#                     the same run, char-rnn against PyTorch
#   loss-parity       validation loss of double and float from the same seed, 1000 iterations
#   first-checkpoint  time to the first checkpoint with char-rnn's defaults, through the collection, in
#                     both precisions
#
# throughput and first-checkpoint run on this machine (the shipped inventory): the collection first
# bootstraps it (packages, Torch, char-rnn) from the mirror with benchmarks/bootstrap.yml. Needs root
# (or sudo), docker for bootstrap, and tests/run.sh's .venv (made when missing). CHARRNN_BENCH_RUNS sets
# the runs per figure; float and double are compared on at least 5 runs each.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
benchmarks=("$@")
[ ${#benchmarks[@]} -gt 0 ] || benchmarks=(bootstrap throughput pytorch loss-parity first-checkpoint)
mirror_path=${CHARRNN_GIT_MIRROR_PATH:?set CHARRNN_GIT_MIRROR_PATH to a directory of bare repositories laid out like GitHub (torch/distro.git, karpathy/char-rnn.git, ...)}
runs=${CHARRNN_BENCH_RUNS:-3}
export CHARRNN_BENCH_RUNS=$runs
precision_runs=$((runs > 5 ? runs : 5))
figures_dir=$(mktemp -d)
trap 'rm -rf "$figures_dir"' EXIT
torch_spec=${CHARRNN_BENCH_TORCH:-torch==2.13.0}

banner() { printf '\n===== %s =====\n' "$*"; }

if [ ! -x .venv/bin/ansible-playbook ]; then
  tests/run.sh lint >/dev/null
fi
export ANSIBLE_PLAYBOOK=$repo/.venv/bin/ansible-playbook

banner "machine"
echo "$(nproc) CPUs: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(free -g | awk '/^Mem:/ { print $2 }') GiB"
echo "$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release), kernel $(uname -r), $(gcc --version | head -n 1)"

# The shipped inventory: this machine, with privilege escalation set for root and non-root users.
bootstrap_here() {
  "$ANSIBLE_PLAYBOOK" benchmarks/bootstrap.yml -i inventory -e "charrnn_git_mirror=file://$mirror_path/" >/dev/null
}

for benchmark in "${benchmarks[@]}"; do
  case "$benchmark" in
    bootstrap)
      banner "bootstrap (fresh Debian 12 containers)"
      benchmarks/bootstrap.sh
      ;;
    throughput)
      banner "training throughput (char-rnn, this machine)"
      bootstrap_here
      python3 benchmarks/training_throughput.py --precision double,float,float-clones --repeats "$precision_runs" \
        --json "$figures_dir/throughput.json"
      ;;
    pytorch)
      banner "training throughput (PyTorch reference, this machine)"
      if [ ! -x benchmarks/.venv-torch/bin/python ]; then
        python3 -m venv benchmarks/.venv-torch
        benchmarks/.venv-torch/bin/pip install --quiet "$torch_spec"
      fi
      benchmarks/.venv-torch/bin/python benchmarks/pytorch_reference.py \
        --corpus /opt/rnn-karpathy/data/tinyshakespeare/input.txt --repeats "$runs" --json "$figures_dir/pytorch.json"
      if [ -f "$figures_dir/throughput.json" ]; then
        python3 - "$figures_dir/throughput.json" "$figures_dir/pytorch.json" <<'PY'
import json, sys
charrnn, pytorch = (json.load(open(path)) for path in sys.argv[1:])
best = min(r['median'] for r in pytorch['results'])
for precision, median in sorted(charrnn['default_median'].items()):
    ratio = median / best
    print('char-rnn %s (the collection\'s threads) against PyTorch at its best, same run: %.2fx slower '
          '(%.4f against %.4f s/batch; target under 3x: %s)' % (precision, ratio, median, best,
                                                                 'met' if ratio < 3 else 'NOT met'))
PY
      fi
      ;;
    loss-parity)
      banner "loss parity, double against float (char-rnn default model, this machine)"
      bootstrap_here
      python3 benchmarks/loss_parity.py --iterations 1000 --every 100
      ;;
    first-checkpoint)
      banner "time to the first checkpoint (char-rnn defaults, this machine)"
      bootstrap_here
      : >"$figures_dir/first-checkpoint"
      for run in $(seq 1 "$runs"); do
        # Both precisions each run, in alternating order, so that drift falls on both alike.
        order=(double float)
        [ $((run % 2)) -eq 1 ] || order=(float double)
        for precision in "${order[@]}"; do
          line=$(CHARRNN_BENCH_RUN=$run CHARRNN_BENCH_PRECISION=$precision "$ANSIBLE_PLAYBOOK" \
            benchmarks/first_checkpoint.yml -i inventory | grep -o 'FIRST_CHECKPOINT [^"]*')
          read -r _ seconds name per_batch omp blas ran_precision <<<"$line"
          echo "run $run, $ran_precision: first checkpoint $name after ${seconds}s (median ${per_batch}s/batch, OMP $omp, OpenBLAS $blas)"
          echo "$ran_precision $seconds" >>"$figures_dir/first-checkpoint"
        done
      done
      python3 - "$figures_dir/first-checkpoint" <<'PY'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    precision, seconds = line.split()
    by.setdefault(precision, []).append(float(seconds))
for precision in sorted(by):
    v = by[precision]
    print("time to the first checkpoint, %s: median %.1f s (min %.1f, max %.1f) of %d runs"
          % (precision, statistics.median(v), min(v), max(v), len(v)))
if len(by) == 2:
    print("float against double: %.2fx sooner" % (statistics.median(by["double"]) / statistics.median(by["float"])))
PY
      ;;
    *)
      echo "benchmarks/run.sh: unknown benchmark '$benchmark' (bootstrap throughput pytorch loss-parity first-checkpoint)" >&2
      exit 2
      ;;
  esac
done
