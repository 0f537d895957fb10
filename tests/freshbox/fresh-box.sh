#!/usr/bin/env bash
# The README's main command, verbatim, on fresh Debian 12 and 13 containers that hold what a cloud image
# ships: python3, but neither python3-venv nor git; once as root and once as a user who may sudo. Each
# box gets this checkout as a release tarball would bring it, runs the command twice, and checks that
# the first run installed python3-venv and ansible-core and the second installed nothing.
#
# Without sources the command runs the part of site.yml that needs none (--tags charrnn_deps: the
# launcher, the Python it installs, the system packages). With CHARRNN_GIT_MIRROR_PATH (a directory
# of bare repositories laid out like GitHub) the boxes take their sources from it, as a site with a GitHub
# mirror would (charrnn_git_mirror in the inventory), and the whole site runs: Torch, char-rnn, training, the first checkpoint, a
# sample; the second run must change nothing. Prints each run's time.
#
#   tests/freshbox/fresh-box.sh                    Debian 12 and 13, root and sudoer
#   CHARRNN_FRESHBOX="13:root" tests/freshbox/fresh-box.sh
#
# With sources, a small model gets to its first checkpoint within minutes; CHARRNN_FRESHBOX_MODEL=default
# trains char-rnn's default model instead. CHARRNN_FRESHBOX_DOCKER_ARGS adds options to docker run, for
# example a small box: "--cpuset-cpus 0 --memory 1g --memory-swap 1g".
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
mirror_path=${CHARRNN_GIT_MIRROR_PATH:-}
boxes=${CHARRNN_FRESHBOX:-12:root 12:sudoer 13:root 13:sudoer}
# The main command, as README.md states it (a test checks the two agree).
main_command=./bootstrap.sh

work=$(mktemp -d)
containers=()
cleanup() {
  [ ${#containers[@]} -eq 0 ] || docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
fail() { echo "fresh-box: $*" >&2; exit 1; }

# The checkout as a release tarball brings it: the tracked files and the new ones, nothing generated.
git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' |
  tar --null -T - -czf "$work/charrnn.tar.gz" --transform 's,^,charrnn/,' --owner=0 --group=0
# tar does not carry the in-repo collection link through --transform cleanly: add it as a link.
mkdir -p "$work/link/charrnn/.collections/ansible_collections/rnn_bootstrap"
ln -s ../../.. "$work/link/charrnn/.collections/ansible_collections/rnn_bootstrap/charrnn"

for box in $boxes; do
  debian=${box%%:*} user=${box#*:}
  case "$debian" in
    12) suite=bookworm ;;
    13) suite=trixie ;;
    *) fail "CHARRNN_FRESHBOX: Debian $debian is not one of 12, 13" ;;
  esac
  image=charrnn-test/debian:$debian
  molecule/offline/build-image.sh "$suite" "$image" >/dev/null
  name=charrnn-freshbox-$debian-$user-$$
  mounts=() settings=''
  [ -z "$mirror_path" ] || mounts=(-v "$mirror_path:/srv/charrnn-mirror:ro")
  # shellcheck disable=SC2086 # the options are words
  docker run -d --name "$name" ${CHARRNN_FRESHBOX_DOCKER_ARGS:-} ${mounts[@]+"${mounts[@]}"} "$image" >/dev/null
  containers+=("$name")
  printf '\n== Debian %s as %s ==\n' "$debian" "$user"

  # What the box must not have, for the test to mean anything.
  docker exec "$name" sh -c '! python3 -c "import ensurepip" 2>/dev/null && ! command -v git' >/dev/null ||
    fail "$image already has python3-venv or git"
  # This machine may reach PyPI through a TLS-inspecting proxy: give the box its CA bundle.
  docker cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$name:/etc/ssl/certs/ca-certificates.crt"
  if [ -n "$mirror_path" ]; then
    # The sources come from the mirror, named in the inventory's group_vars as a site with a GitHub
    # mirror names it; with a small model and a checkpoint every 100 iterations the first checkpoint
    # comes within minutes.
    settings='charrnn_git_mirror: file:///srv/charrnn-mirror/
charrnn_train_options: {rnn_size: 64, num_layers: 2, eval_val_every: 100}'
    [ "${CHARRNN_FRESHBOX_MODEL:-small}" = small ] || settings=${settings%%$'\n'*}
  fi

  if [ "$user" = root ]; then
    home=/root
    run_as=(docker exec -w /root/charrnn "$name")
  else
    home=/home/admin
    docker exec "$name" sh -c 'useradd -m -s /bin/bash admin &&
      echo "admin ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/admin && chmod 0440 /etc/sudoers.d/admin'
    run_as=(docker exec -u admin -w /home/admin/charrnn "$name")
  fi
  docker cp "$work/charrnn.tar.gz" "$name:$home/charrnn.tar.gz"
  docker exec "$name" sh -c "cd $home && tar -xzf charrnn.tar.gz && rm charrnn.tar.gz"
  docker cp "$work/link/charrnn/.collections" "$name:$home/charrnn/"
  [ "$user" = root ] || docker exec "$name" chown -R admin: "$home/charrnn"
  if [ -n "$settings" ]; then
    printf '%s\n' "$settings" | docker exec -i "$name" sh -c "cat >>$home/charrnn/inventory/group_vars/charrnn.yml"
  fi

  args=()
  [ -n "$mirror_path" ] || args=(--tags charrnn_deps)
  for run in 1 2; do
    log=$work/$name.run$run.log
    start=$(now)
    if ! "${run_as[@]}" $main_command ${args[@]+"${args[@]}"} >"$log" 2>&1; then
      tail -n 60 "$log" >&2
      fail "run $run of '$main_command' failed on Debian $debian as $user (log above)"
    fi
    seconds=$(since "$start")
    recap=$(grep -E '^[^ ]+ +: ok=' "$log" | tail -n 1)
    echo "run $run: ${seconds}s  ${recap}"
    if [ "$run" = 1 ]; then
      grep -q '^bootstrap.sh: .*installing python3-venv with apt-get' "$log" ||
        fail "run 1 did not say it installs python3-venv"
      grep -q '^bootstrap.sh: installing ansible-core' "$log" || fail "run 1 did not install ansible-core"
      if [ -n "$mirror_path" ]; then
        grep -q 'Show the first checkpoint and the start of the sample' "$log" || fail "run 1 printed no sample"
        grep -E '^ +"[^"]*(bootstrap [0-9]+s|time to the first checkpoint)' "$log" || true
        sed -n '/Show the first checkpoint and the start of the sample/,/^}/p' "$log" | head -n 8
      fi
    else
      ! grep -q '^bootstrap.sh: .*installing' "$log" || fail "run 2 installed something: $(grep '^bootstrap.sh:' "$log")"
      [ -z "$mirror_path" ] || grep -E '^ +"[^"]*(bootstrap [0-9]+s|time to the first checkpoint)' "$log" || true
      if ! echo "$recap" | grep -q ' changed=0 '; then
        grep -B 3 -E '^changed: ' "$log" | grep -E '^TASK ' >&2 || true
        fail "run 2 changed something (the tasks above): $recap"
      fi
    fi
  done
  docker exec "$name" sh -c 'python3 -c "import ensurepip" && command -v git >/dev/null' ||
    fail "python3-venv or git missing after the run"
  docker rm -f "$name" >/dev/null
done
echo
echo "fresh-box: all passed ($boxes)"
