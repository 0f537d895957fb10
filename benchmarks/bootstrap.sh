#!/usr/bin/env bash
# Bootstrap benchmark on fresh Debian 12 containers, each figure a median of several runs (min, max):
#   cold     the collection's deps + torch + char_rnn on a fresh container
#   warm     the same again on that container (nothing to do; its changed count is printed)
#   fleet    a further fresh container of the same kind after the cold one shared its Torch build
#   install.sh  the baseline people use today on an identical fresh container: the same packages from
#            apt, torch/distro cloned at the same commit, and its own ./install.sh building everything
# Prints every run and a summary with the ratio cold / install.sh.
#
# Needs docker, debootstrap (for the image, see molecule/offline/build-image.sh) and the sources:
# CHARRNN_GIT_MIRROR_PATH, a directory of bare repositories laid out like GitHub
# (<dir>/torch/distro.git, <dir>/torch/torch7.git, ..., <dir>/karpathy/char-rnn.git).
#   CHARRNN_BENCH_RUNS   runs of each figure (default 3)
#   ANSIBLE_PLAYBOOK     ansible-playbook to use (default .venv/bin/ansible-playbook, made by tests/run.sh)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mirror_path=${CHARRNN_GIT_MIRROR_PATH:?set CHARRNN_GIT_MIRROR_PATH to a directory of bare repositories (see the header)}
runs=${CHARRNN_BENCH_RUNS:-3}
playbook_bin=${ANSIBLE_PLAYBOOK:-$repo/.venv/bin/ansible-playbook}
image=charrnn-test/debian:12
torch_version=$(awk '/^charrnn_torch_version:/ { print $2 }' roles/torch/defaults/main.yml)
# The packages the guide to torch/distro's install.sh needs on Debian, for the baseline.
baseline_packages=(build-essential cmake git libreadline-dev libopenblas-dev curl unzip)

molecule/offline/build-image.sh bookworm "$image"
work=$(mktemp -d)
containers=()
cleanup() {
  [ ${#containers[@]} -eq 0 ] || docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

new_container() {
  local name=charrnn-bench-$1-$$
  docker run -d --name "$name" -v "$mirror_path:/srv/charrnn-mirror:ro" "$image" >/dev/null
  containers+=("$name")
  echo "$name"
}

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# play <container> <log>: prints "<seconds> <changed count>"
play() {
  local host=$1 log=$2 start end
  start=$(now)
  if ! ANSIBLE_FORCE_COLOR=0 "$playbook_bin" benchmarks/bootstrap.yml -i "$host," \
      -c community.docker.docker -e "charrnn_torch_archive_dir=$work/archives" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "bootstrap.sh: the play on $host failed (log above)" >&2
    exit 1
  fi
  end=$(now)
  echo "$(seconds "$start" "$end") $(grep -Eo 'changed=[0-9]+' "$log" | tail -n 1 | cut -d= -f2)"
}

# baseline <container>: prints "<total> <packages> <clone> <install.sh>"
baseline() {
  local host=$1 t0 t1 t2 t3
  t0=$(now)
  docker exec "$host" bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends ${baseline_packages[*]} >/dev/null" >/dev/null 2>&1
  t1=$(now)
  docker exec "$host" bash -c "
    set -e
    git config --global protocol.file.allow always
    git config --global url.file:///srv/charrnn-mirror/.insteadOf https://github.com/
    git config --global --add url.file:///srv/charrnn-mirror/.insteadOf git://github.com/
    git clone -q https://github.com/torch/distro.git /root/torch
    git -C /root/torch -c advice.detachedHead=false checkout -q $torch_version"
  t2=$(now)
  if ! docker exec "$host" bash -c "cd /root/torch && ./install.sh -s >/root/install.log 2>&1"; then
    docker exec "$host" tail -n 40 /root/install.log >&2
    echo "bootstrap.sh: install.sh failed on $host" >&2
    exit 1
  fi
  t3=$(now)
  docker exec "$host" bash -c "/root/torch/install/bin/th -e \"require 'nngraph'; require 'optim'; print('ok')\"" \
    | grep ok >/dev/null || { echo "bootstrap.sh: install.sh finished without a working th" >&2; exit 1; }
  echo "$(seconds "$t0" "$t3") $(seconds "$t0" "$t1") $(seconds "$t1" "$t2") $(seconds "$t2" "$t3")"
}

results=$work/results
: >"$results"
echo "# bootstrap benchmark: $runs runs on fresh $image containers, $(nproc) CPUs, $(date -u +%FT%TZ)"
for run in $(seq 1 "$runs"); do
  rm -rf "$work/archives"
  first=$(new_container "cold$run")
  read -r cold cold_changed < <(play "$first" "$work/cold$run.log")
  read -r warm warm_changed < <(play "$first" "$work/warm$run.log")
  second=$(new_container "fleet$run")
  build=$(docker exec "$first" sed -n 's/^== \[\([0-9]*\)s\] done$/\1/p' /var/cache/charrnn/torch/build.log)
  read -r fleet fleet_changed < <(play "$second" "$work/fleet$run.log")
  grep -q 'Unpack into the prefix' "$work/fleet$run.log" \
    || { echo "bootstrap.sh: the further host did not take the shared build" >&2; exit 1; }
  docker rm -f "$first" "$second" >/dev/null
  third=$(new_container "installsh$run")
  read -r base base_packages base_clone base_install < <(baseline "$third")
  docker rm -f "$third" >/dev/null
  printf 'run %d: cold %ss (changed=%s; Torch build script %ss), warm %ss (changed=%s), further host %ss (changed=%s), install.sh baseline %ss (packages %ss, clone %ss, install.sh %ss)\n' \
    "$run" "$cold" "$cold_changed" "$build" "$warm" "$warm_changed" "$fleet" "$fleet_changed" "$base" \
    "$base_packages" "$base_clone" "$base_install"
  {
    echo "cold $cold"
    echo "build $build"
    echo "warm $warm"
    echo "warm_changed $warm_changed"
    echo "fleet $fleet"
    echo "baseline $base"
    echo "baseline_install_sh $base_install"
    echo "ratio $(awk -v a="$cold" -v b="$base" 'BEGIN { printf "%.3f", a / b }')"
    echo "build_ratio $(awk -v a="$build" -v b="$base_install" 'BEGIN { printf "%.3f", a / b }')"
  } >>"$results"
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    key, value = line.split()
    rows.setdefault(key, []).append(float(value))
labels = [
    ('cold', 'cold bootstrap (deps + torch + char_rnn), s'),
    ('build', '  of which the Torch build script, s'),
    ('warm', 'warm re-run, s'),
    ('warm_changed', 'warm re-run, changed tasks'),
    ('fleet', 'further host with the shared build, s'),
    ('baseline', 'install.sh baseline (packages + clone + install.sh), s'),
    ('baseline_install_sh', '  of which install.sh alone, s'),
    ('ratio', 'ratio cold bootstrap / install.sh baseline'),
    ('build_ratio', 'ratio Torch build script / install.sh alone'),
]
print('\nsummary: median (min, max) of %d runs' % len(rows['cold']))
for key, label in labels:
    v = rows[key]
    print('%-58s %8.4g (%.4g, %.4g)' % (label, statistics.median(v), min(v), max(v)))
EOF
