#!/usr/bin/env bash
# The one command on a fresh box: finds (or installs with the system's package manager) a Python that
# ansible-core supports as a controller, puts ansible-core in a venv inside this checkout (the releases of
# requirements/bootstrap*.txt, every file checked against its hash; reused by later runs), then runs a
# playbook of this collection on this checkout's inventory.
#
#   ./bootstrap.sh                              site.yml: from nothing to sampled text, on this machine
#   ./bootstrap.sh train.yml -e charrnn_train_state=restarted
#   ./bootstrap.sh --check                      any other arguments go to ansible-playbook as they are
#
# Run it as root or as a user who may sudo. It exits with ansible-playbook's exit status.
#
# Environment:
#   CHARRNN_PYTHON           use this Python for the venv instead of looking for one (any system)
#   CHARRNN_ANSIBLE_CORE     an ansible-core range of your own instead of the pinned releases (unhashed)
#   CHARRNN_LAUNCHER_DRY_RUN=1   print what would be installed and run, change nothing
#   http_proxy, https_proxy, no_proxy, PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST, ...
#                            honoured by the package manager (passed through sudo) and by pip
#   CHARRNN_LAUNCHER_ROOT    read /etc/os-release and /usr/bin from under this directory (tests)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${CHARRNN_LAUNCHER_ROOT:-}
venv=$here/.venv-run
dry_run=${CHARRNN_LAUNCHER_DRY_RUN:-0}

# The ansible-core releases this collection is tested with (tests/requirements*.txt hold the ends).
tested_core='>=2.16,<2.22'
# EL 8's dnf bindings exist only for its platform Python 3.6, on which ansible-core 2.17 and newer
# cannot run modules; 2.16 is the last release that manages such a host.
el8_core='>=2.16,<2.17'
# Controller Pythons of those releases: 2.16 runs on 3.10-3.12, 2.21 on 3.12-3.14.
min_python=3.10
max_python=3.14

say() { printf 'bootstrap.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Supported systems, as roles/deps/vars/main.yml lists them (a unit test keeps the two equal).
supported_text="Debian 12, 13; Ubuntu 22.04, 24.04, 26.04; RHEL 8, 9, 10; Rocky Linux 8, 9, 10; \
AlmaLinux 8, 9, 10; Amazon Linux 2023; SLES 15.5, 15.6, 15.7; openSUSE Leap 15.6, 16.0"

manual_steps() {
  cat >&2 <<EOF
To run on this system anyway, install by hand:
  1. Python ${min_python} to ${max_python} with its venv and ensurepip modules (for example python3.11);
  2. then run: CHARRNN_PYTHON=/usr/bin/python3.11 $0 -e charrnn_deps_allow_unsupported=true
The deps role then installs the build packages it knows for the OS family, or names what is missing.
EOF
}

os_release=$root/etc/os-release
[ -r "$os_release" ] || os_release=$root/usr/lib/os-release
# os_field NAME: NAME's value in os-release, read as data (sourcing it would run it as root).
os_field() {
  sed -n "s/^$1=//p" "$os_release" | head -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}
if [ -r "$os_release" ]; then
  os_id=$(os_field ID)
  os_version=$(os_field VERSION_ID)
  os_name=$(os_field PRETTY_NAME)
  [ -n "$os_name" ] || os_name="$os_id $os_version"
else
  os_id='' os_version='' os_name='an unknown system (no /etc/os-release)'
fi

# What this system needs: its package manager, the package that brings a usable Python, and the
# ansible-core range. A Python already there is always preferred over installing one.
pkg_manager='' python_package='' core_spec=$tested_core core_lock=requirements/bootstrap.txt supported=1
case "$os_id:$os_version" in
  debian:12 | debian:13) pkg_manager=apt-get python_package=python3-venv ;;
  ubuntu:22.04 | ubuntu:24.04 | ubuntu:26.04) pkg_manager=apt-get python_package=python3-venv ;;
  rhel:8* | rocky:8* | almalinux:8*)
    pkg_manager=dnf python_package=python3.11 core_spec=$el8_core core_lock=requirements/bootstrap-el8.txt max_python=3.12 ;;
  rhel:9* | rocky:9* | almalinux:9*) pkg_manager=dnf python_package=python3.11 ;;
  rhel:10* | rocky:10* | almalinux:10*) pkg_manager=dnf python_package=python3 ;;
  amzn:2023) pkg_manager=dnf python_package=python3.11 ;;
  sles:15.5 | sles:15.6 | sles:15.7 | opensuse-leap:15.6) pkg_manager=zypper python_package=python311 ;;
  opensuse-leap:16.0) pkg_manager=zypper python_package=python3 ;;
  *) supported=0 ;;
esac

# version_ok <major.minor>: inside [min_python, max_python]
version_ok() {
  local v=$1
  [ "$(printf '%s\n%s\n' "$min_python" "$v" | sort -V | head -n 1)" = "$min_python" ] &&
    [ "$(printf '%s\n%s\n' "$v" "$max_python" | sort -V | tail -n 1)" = "$max_python" ]
}

# python_usable <path>: prints its major.minor when it can be the controller (version and venv).
python_usable() {
  local py=$1 v
  [ -x "$py" ] || return 1
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
  version_ok "$v" || return 1
  # Debian and Ubuntu ship venv without ensurepip until python3-venv is installed.
  "$py" -c 'import venv, ensurepip' >/dev/null 2>&1 || return 1
  echo "$v"
}

# The newest usable system Python. System paths only: the training user runs modules with the same
# interpreter, and a Python under someone's home may not be readable by that user.
find_python() {
  local dir minor py
  for dir in "$root/usr/bin" "$root/usr/local/bin"; do
    for minor in 14 13 12 11 10; do
      py=$dir/python3.$minor
      python_usable "$py" >/dev/null && { echo "$py"; return 0; }
    done
    python_usable "$dir/python3" >/dev/null && { echo "$dir/python3"; return 0; }
  done
  return 1
}

# as_root <command...>: run as root, through sudo for anyone else, keeping the proxy settings
# (sudo resets the environment). They pass by name, so that a proxy's password never shows in the
# process list.
as_root() {
  local keep=() name
  for name in http_proxy https_proxy ftp_proxy no_proxy HTTP_PROXY HTTPS_PROXY FTP_PROXY NO_PROXY; do
    [ -n "${!name:-}" ] && keep+=("$name")
  done
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif ! command -v sudo >/dev/null; then
    die "installing $python_package needs root: run $0 as root, or install sudo"
  elif [ ${#keep[@]} -gt 0 ]; then
    sudo --preserve-env="$(IFS=,; echo "${keep[*]}")" "$@"
  else
    sudo "$@"
  fi
}

# SLES: python311 comes from the SLE Python 3 module, which only a registered host can activate; zypper
# alone would only say that it finds no python311. SUSEConnect --status lists the activated products.
check_sles_python_module() {
  local products state module
  module=sle-module-python3/$os_version/$(uname -m)
  products=$(as_root SUSEConnect --status 2>/dev/null) || products=''
  state=$(printf '%s' "$products" | "$root/usr/bin/python3" -c '
import json, sys
try:
    registered = [p.get("identifier") for p in json.load(sys.stdin) if p.get("status") == "Registered"]
except (ValueError, AttributeError):
    registered = None
print("unknown" if registered is None else "unregistered" if "SLES" not in registered
      else "ready" if "sle-module-python3" in registered else "module-off")' 2>/dev/null) || state=unknown
  case "$state" in
    ready | unknown) ;;
    unregistered)
      die "$os_name is not registered, so zypper cannot find $python_package: it comes from the SLE Python 3 module.
  Register it (SUSEConnect -r <registration code>, or registercloudguest --force-new on a pay-as-you-go cloud image),
  then run SUSEConnect -p $module and $0 again" ;;
    module-off)
      die "the SLE Python 3 module, which $python_package comes from, is not active on $os_name.
  Run SUSEConnect -p $module, then $0 again" ;;
  esac
}

install_python_package() {
  [ "$os_id" != sles ] || check_sles_python_module
  case "$pkg_manager" in
    apt-get)
      as_root apt-get update -q
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$python_package" ;;
    dnf) as_root dnf install -y -q "$python_package" ;;
    zypper) as_root zypper --non-interactive --quiet install --no-recommends "$python_package" ;;
  esac
}

# As root, run nothing another user could have changed: the checkout, its venv included, must belong
# to root or to the user who called sudo, and be writable by no one else (a group only if it is root's
# or that user's).
if [ "$(id -u)" = 0 ]; then
  untrusted=$(find "$here" ! -type l \( \( ! -uid 0 ! -uid "${SUDO_UID:-0}" \) -o -perm -0002 \
    -o \( -perm -0020 ! -gid 0 ! -gid "${SUDO_GID:-0}" \) \) -print -quit)
  [ -z "$untrusted" ] || die "$untrusted belongs to another user or anyone may write it, and $0 runs as root:
  give the checkout to root (chown -R root: $here; chmod -R o-w $here), or run $0 as its owner"
fi

# ------------------------------------------------------------------ the Python

if [ -n "${CHARRNN_PYTHON:-}" ]; then
  python=$(command -v "$CHARRNN_PYTHON" 2>/dev/null) || die "CHARRNN_PYTHON=$CHARRNN_PYTHON: no such executable"
  python_usable "$python" >/dev/null ||
    die "CHARRNN_PYTHON=$CHARRNN_PYTHON is not Python $min_python to $max_python with the venv and ensurepip modules"
  packages=''
elif [ "$supported" = 0 ]; then
  say "$os_name is not supported. Supported: $supported_text."
  manual_steps
  exit 1
elif python=$(find_python); then
  packages=''
else
  packages=$python_package
  if [ "$dry_run" = 1 ]; then
    python="(the Python of $python_package)"
  else
    say "no Python $min_python-$max_python with venv on $os_name: installing $python_package with $pkg_manager"
    install_python_package || die "$pkg_manager could not install $python_package (see above); install it by hand and run $0 again"
    python=$(find_python) || die "$python_package is installed but no Python $min_python-$max_python with venv was found in /usr/bin"
  fi
fi
# pip may run as root here: it installs the lock file's releases, each file checked against its hash
# (hacking/lock-bootstrap.sh writes the locks). CHARRNN_ANSIBLE_CORE installs a range of one's own instead,
# unchecked.
if [ -n "${CHARRNN_ANSIBLE_CORE:-}" ]; then
  core_spec=$CHARRNN_ANSIBLE_CORE core_lock=''
  core_install=("ansible-core$core_spec")
else
  core_install=(--require-hashes --requirement "$here/$core_lock")
fi

# ------------------------------------------------------------------ the playbook and its arguments

playbook=$here/playbooks/site.yml
if [ $# -gt 0 ]; then
  case "$1" in
    *.yml | *.yaml)
      if [ -f "$here/playbooks/$1" ]; then playbook=$here/playbooks/$1; shift
      elif [ -f "$1" ]; then playbook=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift
      fi ;;
  esac
fi
extra=()
# Sudo that asks for a password: ansible-playbook has to ask too, unless told how already.
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
  case " $* " in
    *" -K "* | *" --ask-become-pass "* | *" --become-password-file"* | *" --become-pass-file"*) ;;
    *) extra+=(--ask-become-pass) ;;
  esac
fi

if [ "$dry_run" = 1 ]; then
  printf 'system: %s\n' "$os_name"
  printf 'install: %s\n' "${packages:-nothing}${packages:+ (with $pkg_manager)}"
  printf 'python: %s\n' "$python"
  printf 'ansible-core: %s\n' "$core_spec${core_lock:+ (pinned with hashes in $core_lock)}"
  printf 'venv: %s\n' "$venv"
  # printf repeats its format for each argument, and once for none: quoted one by one, no argument shows
  # as none rather than as ''.
  shown=''
  for arg in ${extra[@]+"${extra[@]}"} "$@"; do
    shown+=$(printf ' %q' "$arg")
  done
  printf 'run: ansible-playbook %s%s\n' "${playbook#"$here"/}" "$shown"
  exit 0
fi

# ------------------------------------------------------------------ the venv

stamp=$venv/.bootstrap-stamp
want="$python $("$python" -c 'import sys; print(sys.version.split()[0])') ansible-core$core_spec \
$([ -z "$core_lock" ] || cksum <"$here/$core_lock")"
if [ -x "$venv/bin/ansible-playbook" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  :
else
  say "installing ansible-core$core_spec${core_lock:+ ($core_lock)} into ${venv#"$here"/} with $python"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${core_install[@]}" ||
    die "pip could not install ansible-core$core_spec (behind a proxy? set https_proxy, or PIP_INDEX_URL for a package index mirror)"
  printf '%s\n' "$want" >"$stamp"
fi

# The default inventory runs modules on this machine with the same system Python. The checkout's
# ansible.cfg (paths in it are relative to it) finds the collection and the inventory from any directory,
# so the caller's relative paths (-i, -e @file) keep meaning what they meant.
export CHARRNN_LOCAL_PYTHON=$python
export ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-$here/ansible.cfg}
exec "$venv/bin/ansible-playbook" "$playbook" ${extra[@]+"${extra[@]}"} "$@"
