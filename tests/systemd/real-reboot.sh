#!/usr/bin/env bash
# The supervised run's reboot and power-loss stories with the real Torch and char-rnn: a fresh box that
# boots systemd as PID 1 (molecule/offline/build-image.sh --systemd), site.yml from a directory of bare mirrors laid out
# like GitHub, then
#   - a reboot (docker restart; the units get SIGTERM): training must run again within a minute of boot
#     with no command run, from the checkpoint the stop wrote, counting on from its iteration, having lost
#     nothing beyond the iteration in flight;
#   - a power loss (docker kill) with charrnn_train_checkpoint_minutes=1: at most a minute of training lost.
# Prints the figures. Run by `tests/run.sh systemd` when CHARRNN_GIT_MIRROR_PATH is set, or by hand:
#
#   CHARRNN_GIT_MIRROR_PATH=/srv/git tests/systemd/real-reboot.sh
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
mirror_path=${CHARRNN_GIT_MIRROR_PATH:?a directory of bare mirrors (<owner>/<name>.git), as for molecule}
image=${CHARRNN_SYSTEMD_IMAGE:-charrnn-systemd/debian:12}
box=charrnn-real-reboot-$$
log=/opt/rnn-karpathy/cv/train-charrnn.log
work=$(mktemp -d)
cleanup() { docker rm -f "$box" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "real-reboot: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
in_box() { docker exec "$box" sh -c "$1"; }
lines() { in_box "wc -l < $log"; }
# Waits until the log, from line $1 on, has a progress line after the prelude's count line.
wait_for_progress() {
  local from=$1 deadline=$(($(date +%s) + $2))
  until in_box "tail -n +$from $log | sed -n '/continuing the count/,\$p' | grep -qE '^[0-9]+/[0-9]+ '" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "no new progress line within $2 s; log tail: $(in_box "tail -n 20 $log")"
    sleep 0.2
  done
}
start_box() {
  docker run -d --name "$box" --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
    -e container=docker --stop-signal SIGRTMIN+3 -v "$mirror_path:/srv/charrnn-mirror:ro" "$image" /sbin/init >/dev/null
}
play() {
  ANSIBLE_COLLECTIONS_PATH=$repo/.collections "$repo/.venv/bin/ansible-playbook" -i "$work/hosts.yml" \
    "$repo/playbooks/$1" "${@:2}" > "$work/$1.log" 2>&1 || { tail -n 40 "$work/$1.log" >&2; fail "$1 failed"; }
}

"$repo/molecule/offline/build-image.sh" --systemd bookworm "$image"
cat > "$work/hosts.yml" <<EOF
charrnn:
  hosts:
    $box:
      ansible_connection: community.docker.docker
      ansible_python_interpreter: /usr/bin/python3
      charrnn_git_mirror: file:///srv/charrnn-mirror/
      charrnn_artifacts_dir: $work/artifacts
EOF
start_box
t0=$(now)
play site.yml
echo "site.yml: $(since "$t0") s to sampled text on a fresh box"

# A reboot: the stop checkpoint, then training again with no command run.
sleep 20
from=$(($(lines) + 1))
t0=$(now)
docker restart -t 150 "$box" >/dev/null
stopped=$(since "$t0")
t0=$(now)
wait_for_progress "$from" 60
back=$(since "$t0")
saved=$(in_box "tail -n +$from $log | sed -n 's/^\[charrnn\] stopped on SIGTERM after saving .* at iteration \([0-9]*\).*/\1/p'")
[ -n "$saved" ] || fail "no stop checkpoint in the log: $(in_box "tail -n +$from $log | head -n 30")"
# the last iteration logged before the stop was asked for
last=$(in_box "grep -E '^[0-9]+/[0-9]+ |SIGTERM received' $log | grep -B1 'SIGTERM received' | tail -n 2 | head -n 1 | cut -d/ -f1")
counted=$(in_box "tail -n +$from $log | sed -n 's/^\[charrnn\] continuing the count of .*: \([0-9]*\) iterations.*/\1/p'")
[ "$counted" -ge "$saved" ] || fail "the new run counts on from $counted, not from the stop checkpoint's $saved"
in_box "tail -n 1 $log.events" | grep -q '"by": "systemd, after a restart of the host"' || fail "no start by systemd recorded"
echo "reboot: the stop took $stopped s; the first new progress line came $back s after the box was back;" \
  "stop checkpoint at iteration $saved (last logged before it: $last), the new run counts on from $counted"

# A power loss, with a checkpoint every minute.
run_from=$(($(lines) + 1))
play train.yml -e charrnn_train_state=restarted -e charrnn_train_checkpoint_minutes=1
sleep 90
from=$(($(lines) + 1))
last=$(in_box "grep -E '^[0-9]+/[0-9]+ ' $log | tail -n 1 | cut -d/ -f1")
before=$(in_box "tail -n +$run_from $log | sed -n 's/^\[charrnn\] continuing the count of .*: \([0-9]*\) iterations.*/\1/p'")
docker kill "$box" >/dev/null
t0=$(now)
docker start "$box" >/dev/null
wait_for_progress "$from" 60
back=$(since "$t0")
counted=$(in_box "tail -n +$from $log | sed -n 's/^\[charrnn\] continuing the count of .*: \([0-9]*\) iterations.*/\1/p'")
lost=$((before + last - counted))
# the seconds those iterations took, from their time/batch
seconds=$(in_box "sed -n '$run_from,$((from - 1))p' $log | grep -E '^[0-9]+/[0-9]+ '" | awk -F/ -v a="$((counted - before))" -v b="$last" '
  { n = $1 + 0 } n > a && n <= b { sub(/.*time\/batch = /, ""); s += $0 } END { printf "%.0f", s }')
[ "$seconds" -le 75 ] || fail "a power loss lost $lost iterations ($seconds s of training), more than the minute between checkpoints"
echo "power loss: $lost iterations lost ($seconds s of training; checkpoints every minute); training again $back s after docker start"
