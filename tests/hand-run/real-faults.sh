#!/usr/bin/env bash
# The faults of the reliability guide (docs/docsite/rst/guide_reliability.rst), each tried once for real, with real Torch, char-rnn
# and training, on one fresh Debian container (the automated tests use the stand-in trainer):
#   1. the bootstrap is killed mid-build (the play and every build process): the next site.yml run
#      finishes the job, and the half-built Torch is never taken for a finished one;
#   2. the trainer is killed with SIGKILL: the checkpoint module reports it stopped at once, with the
#      log tail; train.yml resumes from the latest checkpoint; no checkpoint is lost;
#   3. the host restarts (docker restart): re-running site.yml resumes training from the latest
#      checkpoint without rebuilding anything; no checkpoint is lost.
# Prints what it checks and the times; exits non-zero at the first check that fails.
#
# Needs docker, debootstrap and the sources: CHARRNN_GIT_MIRROR_PATH, a directory of bare repositories
# laid out like GitHub (see benchmarks/bootstrap.sh). ANSIBLE_PLAYBOOK: default .venv/bin/ansible-playbook.
# CHARRNN_FAULTS_FROM=2 starts with a plain site.yml run instead of fault 1; CHARRNN_FAULTS_ARCHIVE_DIR
# lets that run unpack a shared Torch build (charrnn_torch_archive_dir) instead of compiling.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
mirror_path=${CHARRNN_GIT_MIRROR_PATH:?set CHARRNN_GIT_MIRROR_PATH to a directory of bare repositories}
playbook=${ANSIBLE_PLAYBOOK:-$repo/.venv/bin/ansible-playbook}
ansible_bin=$(dirname "$playbook")/ansible
# CHARRNN_FAULTS_DEBIAN=13 tries them on Debian 13 (GCC 14) instead.
debian=${CHARRNN_FAULTS_DEBIAN:-12}
case "$debian" in
  12) suite=bookworm ;;
  13) suite=trixie ;;
  *) echo "real-faults.sh: CHARRNN_FAULTS_DEBIAN must be 12 or 13" >&2; exit 2 ;;
esac
image=charrnn-test/debian:$debian
host=charrnn-faults-$$
checkout=/opt/rnn-karpathy

molecule/offline/build-image.sh "$suite" "$image" >/dev/null
work=$(mktemp -d)
cleanup() { docker rm -f "$host" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
docker run -d --name "$host" -v "$mirror_path:/srv/charrnn-mirror:ro" "$image" >/dev/null

cat >"$work/inventory.yml" <<EOF
charrnn:
  hosts:
    $host:
      ansible_connection: community.docker.docker
  vars:
    charrnn_git_mirror: file:///srv/charrnn-mirror/
    charrnn_torch_archive_dir: "${CHARRNN_FAULTS_ARCHIVE_DIR:-}"
    charrnn_train_options: {rnn_size: 32, num_layers: 1, seq_length: 25, batch_size: 25,
                            eval_val_every: 40, max_epochs: 100}
    # Retention would delete old checkpoints on purpose; here every checkpoint must survive.
    charrnn_train_keep: 0
    charrnn_first_checkpoint_timeout: 600
    charrnn_progress_interval: 20
    charrnn_sample_length: 100
    charrnn_artifacts_dir: $work/artifacts
EOF

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
ok() { echo "   ok: $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
in_host() { docker exec "$host" bash -c "$1"; }
run_play() {  # log playbook [args...]
  local log=$1
  shift
  ANSIBLE_FORCE_COLOR=0 "$playbook" -i "$work/inventory.yml" "$@" >"$log" 2>&1 || { tail -n 40 "$log" >&2; fail "$* failed"; }
}
checkpoints() { in_host "cd $checkout/cv && stat -c '%n %s %Y' *.t7 2>/dev/null | sort" || true; }
kept_all() {  # before-listing after-listing: every earlier checkpoint unchanged, or set aside as incomplete
  local name size mtime
  while read -r name size mtime; do
    grep -qx "$name $size $mtime" <<<"$2" && continue
    in_host "test -e $checkout/cv/$name.incomplete" && { echo "   (set aside as incomplete: $name)"; continue; }
    fail "checkpoint $name was lost or changed"
  done <<<"$1"
}

if [ "${CHARRNN_FAULTS_FROM:-1}" = 2 ]; then
  echo "== 1. skipped (CHARRNN_FAULTS_FROM=2): a plain site.yml run"
  run_play "$work/site1.log" playbooks/site.yml
else
echo "== 1. bootstrap killed mid-build"
start=$(now)
"$playbook" -i "$work/inventory.yml" playbooks/site.yml >"$work/killed.log" 2>&1 &
play=$!
until in_host "grep -q '\] torch$' /var/cache/charrnn/torch/build.log 2>/dev/null"; do
  kill -0 "$play" 2>/dev/null || { tail -n 30 "$work/killed.log" >&2; fail "the play ended before the build got to torch7"; }
  sleep 2
done
kill -KILL "$play"
in_host "pkill -KILL -f '[b]uild-torch.sh'; pkill -KILL -x make; pkill -KILL -x cc1; pkill -KILL -x cmake; pkill -KILL -x luajit; true"
sleep 1
echo "   killed the play and the build after $(since "$start")s, while compiling torch7"
in_host "test ! -e /opt/torch/.charrnn-build.json" || fail "a build stamp exists after the interrupted build"
ok "no build stamp: the half-built /opt/torch is not taken for a finished one"
start=$(now)
run_play "$work/site1.log" playbooks/site.yml
grep -q 'TASK \[rnn_bootstrap.charrnn.torch : Run the build\]' "$work/site1.log" || fail "the next run did not build"
in_host "test -e /opt/torch/.charrnn-build.json" || fail "no stamp after the next run"
ok "the next site.yml run built Torch again and trained to a first checkpoint in $(since "$start")s"
fi

echo "== 2. trainer killed with SIGKILL"
sleep 20
before=$(checkpoints)
[ -n "$before" ] || fail "no checkpoint before the kill"
# Only the trainer (th runs as luajit); its screen wrapper lives on to log the exit status.
in_host "pkill -KILL -x luajit"
start=$(now)
ANSIBLE_FORCE_COLOR=0 "$ansible_bin" -i "$work/inventory.yml" charrnn -b --become-user charrnn \
  -m rnn_bootstrap.charrnn.checkpoint \
  -a "chdir=$checkout checkpoint_dir=cv wait=new timeout=300" >"$work/checkpoint.log" 2>&1 && fail "waiting for a checkpoint of a killed trainer succeeded"
grep -q 'has ended (status stopped)' "$work/checkpoint.log" || { cat "$work/checkpoint.log" >&2; fail "not reported as stopped"; }
grep -q 'run ended: exit status 137' "$work/checkpoint.log" || fail "no log tail with the exit status"
ok "checkpoint reported the trainer stopped (exit status 137) with the log tail after $(since "$start")s"
before=$(checkpoints)
run_play "$work/train.log" playbooks/train.yml
grep -q 'resumed from' "$work/train.log" || grep -q 'resumed_from.*lm_lstm' "$work/train.log" || fail "train.yml did not resume"
kept_all "$before" "$(checkpoints)"
ok "train.yml resumed from the latest checkpoint; all $(wc -l <<<"$before") earlier checkpoints kept"

echo "== 3. host restarted"
sleep 10
docker restart "$host" >/dev/null
in_host "pgrep -f '[t]rain.lua'" && fail "a trainer survived the restart"
before=$(checkpoints)
start=$(now)
run_play "$work/site2.log" playbooks/site.yml
grep -A1 'TASK \[rnn_bootstrap.charrnn.torch : Run the build\]' "$work/site2.log" | grep changed >/dev/null \
  && fail "site.yml rebuilt Torch after the restart"
grep -q 'resumed from' "$work/site2.log" || fail "site.yml did not resume training"
kept_all "$before" "$(checkpoints)"
ok "site.yml resumed training in $(since "$start")s without rebuilding; all $(wc -l <<<"$before") earlier checkpoints kept"
echo "all faults survived; checkpoints lost: 0"
