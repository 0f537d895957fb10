#!/usr/bin/env bash
# Every benchmark of benchmarks/README.md, each printing its figures:
#
#   CHARRNN_GIT_MIRROR_PATH=<dir of bare repositories> benchmarks/run.sh            all of them
#   CHARRNN_GIT_MIRROR_PATH=... benchmarks/run.sh bootstrap throughput pytorch first-checkpoint
#
#   bootstrap         cold / warm / further-host bootstrap against torch/distro's install.sh, on fresh
#                     Debian 12 containers (benchmarks/bootstrap.sh)
#   throughput        char-rnn's default model, s/batch for every OpenMP x OpenBLAS thread setting
#   pytorch           the same model shape in PyTorch on the CPU, as the reference
#   first-checkpoint  time to the first checkpoint with char-rnn's defaults, through the collection
#
# throughput and first-checkpoint run on this machine (the shipped inventory): the collection first
# bootstraps it (packages, Torch, char-rnn) from the mirror with benchmarks/bootstrap.yml. Needs root
# (or sudo), docker for bootstrap, and tests/run.sh's .venv (made when missing). CHARRNN_BENCH_RUNS sets
# the runs per figure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
benchmarks=("$@")
[ ${#benchmarks[@]} -gt 0 ] || benchmarks=(bootstrap throughput pytorch first-checkpoint)
mirror_path=${CHARRNN_GIT_MIRROR_PATH:?set CHARRNN_GIT_MIRROR_PATH to a directory of bare repositories laid out like GitHub (torch/distro.git, karpathy/char-rnn.git, ...)}
runs=${CHARRNN_BENCH_RUNS:-3}
export CHARRNN_BENCH_RUNS=$runs
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
      python3 benchmarks/training_throughput.py --repeats "$runs"
      ;;
    pytorch)
      banner "training throughput (PyTorch reference, this machine)"
      if [ ! -x benchmarks/.venv-torch/bin/python ]; then
        python3 -m venv benchmarks/.venv-torch
        benchmarks/.venv-torch/bin/pip install --quiet "$torch_spec"
      fi
      benchmarks/.venv-torch/bin/python benchmarks/pytorch_reference.py \
        --corpus /opt/rnn-karpathy/data/tinyshakespeare/input.txt --repeats "$runs"
      ;;
    first-checkpoint)
      banner "time to the first checkpoint (char-rnn defaults, this machine)"
      bootstrap_here
      figures=()
      for run in $(seq 1 "$runs"); do
        line=$(CHARRNN_BENCH_RUN=$run "$ANSIBLE_PLAYBOOK" benchmarks/first_checkpoint.yml -i inventory \
          | grep -o 'FIRST_CHECKPOINT [^"]*')
        read -r _ seconds name per_batch omp blas <<<"$line"
        echo "run $run: first checkpoint $name after ${seconds}s (median ${per_batch}s/batch, OMP $omp, OpenBLAS $blas)"
        figures+=("$seconds")
      done
      printf '%s\n' "${figures[@]}" | python3 -c '
import statistics, sys
v = [float(x) for x in sys.stdin]
print("time to the first checkpoint: median %.1f s (min %.1f, max %.1f) of %d runs" % (statistics.median(v), min(v), max(v), len(v)))'
      ;;
    *)
      echo "benchmarks/run.sh: unknown benchmark '$benchmark' (bootstrap throughput pytorch first-checkpoint)" >&2
      exit 2
      ;;
  esac
done
