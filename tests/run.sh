#!/usr/bin/env bash
# The whole test suite: lint, sanity, unit and integration tests on the oldest and newest ansible-core
# this collection supports, the changelog, the built artifact, supervised runs in a container that boots
# systemd, the offline molecule scenario on Debian 12 and 13 containers, and the README's main command on
# fresh Debian boxes. Sets up everything it needs under .venv*/ and .tmp/.
#
#   tests/run.sh                 everything
#   tests/run.sh lint unit       only some stages (lint sanity unit targets integration changelog build
#                                systemd freshbox molecule)
#
# CHARRNN_GIT_MIRROR / CHARRNN_GIT_MIRROR_PATH: sources for the real Torch build in molecule.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint sanity unit targets integration changelog build systemd freshbox molecule)

newest_python=${CHARRNN_NEWEST_PYTHON:-python3.13}
oldest_python=${CHARRNN_OLDEST_PYTHON:-python3.12}

find_python() {
  local name=$1 candidate
  # A pyenv shim answers command -v for versions it cannot run, so each candidate must run.
  for candidate in "$(command -v "$name" 2>/dev/null)" "$HOME"/.pyenv/versions/"${name#python}"*/bin/python; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c pass 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "tests/run.sh: no working $name (set CHARRNN_NEWEST_PYTHON / CHARRNN_OLDEST_PYTHON)" >&2
  return 1
}

make_venv() {
  local dir=$1 python=$2 requirements=$3 pip=${4:-pip}
  if [ ! -f "$dir/.requirements" ] || ! cmp -s "$requirements" "$dir/.requirements"; then
    rm -rf "$dir"
    "$(find_python "$python")" -m venv "$dir"
    "$dir/bin/pip" install --quiet --upgrade "$pip"
    "$dir/bin/pip" install --quiet -r "$requirements"
    cp "$requirements" "$dir/.requirements"
  fi
}

banner() { printf '\n===== %s =====\n' "$*"; }
core() { "$1/bin/python" -c 'from ansible.release import __version__; print("ansible-core " + __version__)'; }

# ansible-test wants the collection at ansible_collections/<ns>/<name>, as real files.
collection_tree() {
  local root=$repo/.tmp/sanity/ansible_collections/rnn_bootstrap/charrnn
  rm -rf "$root"
  mkdir -p "$root"
  git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' \
    | xargs -0 -I{} cp --parents -P {} "$root"/
  (cd "$root" && git init -q && git add -A >/dev/null 2>&1)
  echo "$root"
}

banner "virtualenvs"
make_venv .venv "$newest_python" tests/requirements.txt
make_venv .venv-oldest "$oldest_python" tests/requirements-oldest.txt
# Everything else finds this checkout through the link in .collections/ (see ansible.cfg).
export ANSIBLE_COLLECTIONS_PATH=$repo/.collections
tree=$(collection_tree)

for stage in "${stages[@]}"; do
  case "$stage" in
    lint)
      banner "ansible-lint (production profile)"
      .venv/bin/ansible-lint --profile production --offline
      banner "antsibull-docs lint-collection-docs (docs/docsite, and the modules' and roles' documentation)"
      PATH="$repo/.venv/bin:$PATH" .venv/bin/antsibull-docs lint-collection-docs --plugin-docs "$tree"
      banner "Lua: syntax (luajit -bl) and luacheck (.luacheckrc)"
      for tool in luajit luacheck; do
        command -v "$tool" >/dev/null \
          || { echo "tests/run.sh: no $tool on PATH (Debian: apt-get install luajit lua-check)" >&2; exit 1; }
      done
      mapfile -t lua_files < <(git ls-files --cached --others --exclude-standard '*.lua')
      for file in "${lua_files[@]}"; do
        luajit -bl "$file" >/dev/null
      done
      luacheck --no-color "${lua_files[@]}"
      ;;
    sanity)
      # ansible-test fetches get-pip.py from a host outside PyPI unless its cache already has one.
      mkdir -p "$HOME/.ansible/test/cache"
      for version in 23_1_2 24_0 25_2; do
        cp -n tests/sanity/get_pip_offline.py "$HOME/.ansible/test/cache/get_pip_$version.py"
      done
      for venv in .venv .venv-oldest; do
        banner "ansible-test sanity ($(core "$repo/$venv"))"
        (cd "$tree" && PATH="$repo/$venv/bin:$PATH" ansible-test sanity --color no \
          --python "$("$repo/$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
          --skip-test shebang)
      done
      ;;
    unit)
      for venv in .venv .venv-oldest; do
        banner "unit tests ($(core "$venv"))"
        "$venv/bin/python" -m pytest -q tests/unit
      done
      ;;
    targets)
      # The modules run on the hosts' Python, from 3.6 (tests/config.yml; RHEL 8's platform Python,
      # SLES 15) to the newest. On 3.6 they get ansible.module_utils from ansible-core 2.16, the last
      # core that runs modules there, as its AnsiballZ payload would bring them.
      banner "modules and module_utils on the newest target Python"
      PYTHONDONTWRITEBYTECODE=1 .venv/bin/python tests/targets/import_plugins.py "$repo/.collections"
      banner "modules and module_utils on the oldest target Python (3.6)"
      if find_python python3.6 >/dev/null 2>&1; then
        make_venv .venv-py36 python3.6 tests/requirements-py36.txt 'pip<22'
        rm -rf .tmp/targets && mkdir -p .tmp/targets/ansible
        cp -r "$(.venv-oldest/bin/python -c 'import ansible, os; print(os.path.dirname(ansible.__file__))')/module_utils" \
          .tmp/targets/ansible/
        printf 'from pkgutil import extend_path\n__path__ = extend_path(__path__, __name__)\n' > .tmp/targets/ansible/__init__.py
        export PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$repo/.tmp/targets
        .venv-py36/bin/python tests/targets/import_plugins.py "$repo/.collections"
        .venv-py36/bin/python -m pytest -q -p no:cacheprovider tests/unit/plugins
        unset PYTHONDONTWRITEBYTECODE PYTHONPATH
      else
        echo "SKIPPED: no working Python 3.6 (python3.6 on PATH or ~/.pyenv/versions/3.6.*); the modules'"
        echo "claim of Python 3.6 targets is not checked on this machine"
      fi
      ;;
    integration)
      for venv in .venv .venv-oldest; do
        banner "integration tests ($(core "$venv"))"
        PATH="$repo/$venv/bin:$PATH" "$venv/bin/python" -m pytest -q tests/integration
      done
      ;;
    changelog)
      banner "changelog"
      .venv/bin/antsibull-changelog lint
      ;;
    build)
      banner "collection build and install"
      rm -rf .tmp/build && mkdir -p .tmp/build
      .venv/bin/ansible-galaxy collection build --output-path .tmp/build "$tree" >/dev/null
      .venv/bin/python tests/build/check_artifact.py .tmp/build/*.tar.gz
      # Only the installed artifact, never this checkout (ansible.cfg, .collections/), so that what
      # the artifact lacks fails here. ansible-doc exits 0 on a name it cannot find: its JSON must hold
      # the documentation of every module and role of the checkout.
      (cd .tmp/build && export ANSIBLE_COLLECTIONS_PATH=$repo/.tmp/build/installed
       "$repo/.venv/bin/ansible-galaxy" collection install --offline -p installed ./*.tar.gz >/dev/null
       for module in "$repo"/plugins/modules/*.py; do
         "$repo/.venv/bin/ansible-doc" --json "rnn_bootstrap.charrnn.$(basename "$module" .py)" | grep -q '"doc"' \
           || { echo "ansible-doc finds no documentation of $(basename "$module") in the artifact" >&2; exit 1; }
       done
       for role in "$repo"/roles/*/; do
         "$repo/.venv/bin/ansible-doc" -t role --json "rnn_bootstrap.charrnn.$(basename "$role")" | grep -q '"entry_points"' \
           || { echo "ansible-doc finds no argument specs of role $(basename "$role") in the artifact" >&2; exit 1; }
       done
       for playbook in "$repo"/playbooks/*.yml; do
         out=$("$repo/.venv/bin/ansible-playbook" --syntax-check -i localhost, \
           "rnn_bootstrap.charrnn.$(basename "$playbook" .yml)" 2>&1) || { echo "$out" >&2; exit 1; }
       done)
      echo "built, installed and read back $(ls .tmp/build/*.tar.gz)"
      ;;
    systemd)
      banner "supervised runs in a container booting systemd (reboot, crash, power loss, stop, finish)"
      molecule/offline/build-image.sh --systemd bookworm charrnn-systemd/debian:12
      PATH="$repo/.venv/bin:$PATH" .venv/bin/python -m pytest -q -s tests/systemd
      if [ -n "${CHARRNN_GIT_MIRROR_PATH:-}" ]; then
        banner "the reboot and power-loss stories with the real Torch and char-rnn"
        tests/systemd/real-reboot.sh
      else
        echo "SKIPPED: the reboot and power-loss stories with the real Torch and char-rnn" \
          "(tests/systemd/real-reboot.sh) need CHARRNN_GIT_MIRROR_PATH"
      fi
      ;;
    freshbox)
      banner "README main command on fresh Debian 12 and 13 boxes (root and sudoer)"
      tests/freshbox/fresh-box.sh
      ;;
    molecule)
      banner "molecule offline scenario (Debian 12, 13)"
      molecule/offline/build-image.sh bookworm charrnn-test/debian:12
      molecule/offline/build-image.sh trixie charrnn-test/debian:13
      PATH="$repo/.venv/bin:$PATH" molecule test -s offline
      ;;
    *) echo "tests/run.sh: unknown stage $stage" >&2; exit 2 ;;
  esac
done
banner "all stages passed: ${stages[*]}"
