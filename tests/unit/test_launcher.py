# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""bootstrap.sh's decisions on every system the README lists, from os-release fixtures.

Each system is a fake root (CHARRNN_LAUNCHER_ROOT) holding its /etc/os-release and, in /usr/bin, real
interpreters of the versions that system ships (from pyenv or the machine), a Debian-style python3
without ensurepip where python3-venv is missing, and a fake package manager on PATH that records its
call and "installs" the package by adding the interpreter it brings. ansible-playbook is a stand-in in a
prepared venv that records how it was called; one test builds the venv for real with pip, offline, from
a stand-in ansible-core wheel.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import re
import shutil
import subprocess
import zipfile

import pytest

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = repo_paths.REPO
LAUNCHER = os.path.join(REPO, 'bootstrap.sh')

TESTED = '>=2.16,<2.22'
EL8 = '>=2.16,<2.17'

# id, VERSION_ID, python3's version, interpreters also present, package manager, package it installs
# (None: nothing to install), the interpreter picked, the ansible-core range.
SYSTEMS = [
    ('debian', '12', '3.11', {}, 'apt-get', 'python3-venv', 'python3.11', TESTED),
    ('debian', '13', '3.13', {}, 'apt-get', 'python3-venv', 'python3.13', TESTED),
    ('ubuntu', '22.04', '3.10', {}, 'apt-get', 'python3-venv', 'python3.10', TESTED),
    ('ubuntu', '24.04', '3.12', {}, 'apt-get', 'python3-venv', 'python3.12', TESTED),
    # 26.04's python3 is newer than any interpreter here; 3.13 stands in for it.
    ('ubuntu', '26.04', '3.13', {}, 'apt-get', 'python3-venv', 'python3.13', TESTED),
    ('rhel', '8.10', '3.6', {}, 'dnf', 'python3.11', 'python3.11', EL8),
    ('rocky', '8.10', '3.6', {}, 'dnf', 'python3.11', 'python3.11', EL8),
    ('almalinux', '8.10', '3.6', {}, 'dnf', 'python3.11', 'python3.11', EL8),
    ('rhel', '9.6', '3.9', {}, 'dnf', 'python3.11', 'python3.11', TESTED),
    ('rocky', '9.6', '3.9', {}, 'dnf', 'python3.11', 'python3.11', TESTED),
    ('almalinux', '9.6', '3.9', {}, 'dnf', 'python3.11', 'python3.11', TESTED),
    ('rhel', '10.0', '3.12', {}, 'dnf', None, 'python3.12', TESTED),
    ('rocky', '10.0', '3.12', {}, 'dnf', None, 'python3.12', TESTED),
    ('almalinux', '10.0', '3.12', {}, 'dnf', None, 'python3.12', TESTED),
    ('amzn', '2023', '3.9', {}, 'dnf', 'python3.11', 'python3.11', TESTED),
    ('sles', '15.5', '3.6', {}, 'zypper', 'python311', 'python3.11', TESTED),
    ('sles', '15.6', '3.6', {}, 'zypper', 'python311', 'python3.11', TESTED),
    ('sles', '15.7', '3.6', {}, 'zypper', 'python311', 'python3.11', TESTED),
    ('opensuse-leap', '15.6', '3.6', {}, 'zypper', 'python311', 'python3.11', TESTED),
    ('opensuse-leap', '16.0', '3.13', {}, 'zypper', None, 'python3.13', TESTED),
    # An EL 9 box where someone installed python3.12 already: nothing to install, the newest is used.
    ('rocky', '9.6', '3.9', {'python3.12': '3.12'}, 'dnf', None, 'python3.12', TESTED),
]

UNSUPPORTED = [
    ('debian', '11'), ('ubuntu', '20.04'), ('ubuntu', '25.04'), ('opensuse-leap', '15.5'),
    ('sles', '12.5'), ('sles', '16.0'), ('sles', '15'), ('sles', '15.4'), ('fedora', '41'), ('centos', '7'), ('rhel', '7.9'), ('amzn', '2'),
]


def system_id(system):
    return '%s-%s%s' % (system[0], system[1], '-with-' + '-'.join(system[3]) if system[3] else '')


def real_python(version):
    """A runnable interpreter of this major.minor: the machine's or pyenv's."""
    candidates = ['/usr/bin/python' + version] + sorted(
        glob.glob(os.path.expanduser('~/.pyenv/versions/%s.*/bin/python%s' % (version, version))))
    for path in candidates:
        if os.access(path, os.X_OK) and subprocess.call(
                [path, '-c', 'import venv, ensurepip'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
            return path
    pytest.skip('no Python %s with venv on this machine to stand in for the system one' % version)


def write_exe(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o755)


def link_python(root, name, version, ensurepip=True):
    """<root>/usr/bin/<name>: a real interpreter of `version`; without ensurepip, as Debian ships python3
    until python3-venv is installed."""
    path = os.path.join(root, 'usr', 'bin', name)
    if os.path.lexists(path):
        os.unlink(path)
    real = real_python(version)
    if ensurepip:
        os.symlink(real, path)
    else:
        hide = os.path.join(root, 'no-ensurepip')
        os.makedirs(hide, exist_ok=True)
        write_exe(os.path.join(hide, 'ensurepip.py'), 'raise ImportError("ensurepip is not available")\n')
        write_exe(path, '#!/bin/sh\nPYTHONPATH=%s exec %s "$@"\n' % (hide, real))
    return path


FAKE_PACKAGE_MANAGER = r'''#!/usr/bin/env python3
import json, os, sys
record = os.environ['FAKE_RECORD']
with open(record, 'a') as f:
    f.write(json.dumps({'argv': [os.path.basename(sys.argv[0])] + sys.argv[1:],
                        'uid_env': {k: os.environ.get(k) for k in ('http_proxy', 'https_proxy', 'no_proxy')}}) + '\n')
if 'install' in sys.argv[1:]:
    installs = json.loads(os.environ['FAKE_INSTALLS'])
    for package in sys.argv[1:]:
        for name, target in installs.get(package, {}).items():
            path = os.path.join(os.environ['CHARRNN_LAUNCHER_ROOT'], 'usr', 'bin', name)
            if os.path.lexists(path):
                os.unlink(path)
            os.symlink(target, path)
sys.exit(int(os.environ.get('FAKE_PM_RC', '0')))
'''

# sudo resets the environment (as the distributions' sudoers do) and answers -n true per FAKE_SUDO_NOPASS.
FAKE_SUDO = r'''#!/bin/bash
echo "sudo $*" >>"$FAKE_RECORD.sudo"
if [ "$1" = -n ]; then [ "${FAKE_SUDO_NOPASS:-1}" = 1 ]; exit $?; fi
kept=()
case "$1" in
  --preserve-env=*) IFS=, read -r -a names <<<"${1#--preserve-env=}"; shift
    for name in "${names[@]}"; do kept+=("$name=${!name}"); done ;;
esac
exec env -i PATH="$PATH" FAKE_RECORD="$FAKE_RECORD" FAKE_INSTALLS="$FAKE_INSTALLS" \
  CHARRNN_LAUNCHER_ROOT="$CHARRNN_LAUNCHER_ROOT" "${kept[@]}" "$@"
'''

FAKE_ANSIBLE_PLAYBOOK = r'''#!/bin/sh
python3 - "$@" <<'EOF'
import json, os, sys

with open(os.environ['FAKE_RECORD'] + '.playbook', 'w') as f:
    json.dump({'argv': sys.argv[1:], 'python': os.environ.get('CHARRNN_LOCAL_PYTHON'),
               'config': os.environ.get('ANSIBLE_CONFIG'), 'cwd': os.getcwd()}, f)
EOF
exit "${FAKE_PLAYBOOK_RC:-0}"
'''


class Box:
    """A checkout holding bootstrap.sh, on a fake system."""

    def __init__(self, tmp_path, os_id, version, python3, others=None, venv_missing=True):
        self.tmp = tmp_path
        self.checkout = tmp_path / 'charrnn'
        (self.checkout / 'playbooks').mkdir(parents=True)
        shutil.copy(LAUNCHER, str(self.checkout / 'bootstrap.sh'))
        shutil.copytree(os.path.join(REPO, 'requirements'), str(self.checkout / 'requirements'))
        for playbook in ('site.yml', 'train.yml'):
            (self.checkout / 'playbooks' / playbook).write_text('---\n')
        (self.checkout / 'ansible.cfg').write_text('[defaults]\n')
        self.root = str(tmp_path / 'root')
        os.makedirs(os.path.join(self.root, 'etc'))
        os.makedirs(os.path.join(self.root, 'usr', 'bin'))
        with open(os.path.join(self.root, 'etc', 'os-release'), 'w') as f:
            f.write('ID=%s\nVERSION_ID="%s"\nPRETTY_NAME="%s %s"\n' % (os_id, version, os_id, version))
        debian_like = os_id in ('debian', 'ubuntu')
        self.python3 = link_python(self.root, 'python3', python3, ensurepip=not (debian_like and venv_missing))
        if python3 != '3.6':
            link_python(self.root, 'python' + python3, python3, ensurepip=not (debian_like and venv_missing))
        for name, version_ in (others or {}).items():
            link_python(self.root, name, version_)
        self.bin = tmp_path / 'fakebin'
        self.bin.mkdir()
        for pm in ('apt-get', 'dnf', 'zypper'):
            write_exe(str(self.bin / pm), FAKE_PACKAGE_MANAGER)
        write_exe(str(self.bin / 'sudo'), FAKE_SUDO)
        self.record = str(tmp_path / 'record')
        self.installs = {
            'python3-venv': {'python3': real_python(python3)} if debian_like else {},
            'python3.11': {'python3.11': real_python('3.11')},
            'python311': {'python3.11': real_python('3.11')},
            'python3': {},
        }
        if debian_like:
            self.installs['python3-venv']['python' + python3] = real_python(python3)

    def env(self, **extra):
        env = dict(os.environ)
        for name in ('CHARRNN_PYTHON', 'CHARRNN_ANSIBLE_CORE', 'ANSIBLE_CONFIG', 'http_proxy', 'https_proxy',
                     'no_proxy', 'CHARRNN_LAUNCHER_DRY_RUN'):
            env.pop(name, None)
        env.update(PATH='%s:%s' % (self.bin, env['PATH']), CHARRNN_LAUNCHER_ROOT=self.root,
                   FAKE_RECORD=self.record, FAKE_INSTALLS=json.dumps(self.installs))
        env.update(extra)
        return env

    def run(self, *args, **env):
        return subprocess.run([str(self.checkout / 'bootstrap.sh')] + list(args), env=self.env(**env),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              cwd=str(self.tmp), check=False)

    def dry_run(self, *args, **env):
        result = self.run(*args, CHARRNN_LAUNCHER_DRY_RUN='1', **env)
        assert result.returncode == 0, result.stderr
        return dict(line.split(': ', 1) for line in result.stdout.splitlines())

    def package_calls(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f]

    def sudo_calls(self):
        if not os.path.exists(self.record + '.sudo'):
            return []
        with open(self.record + '.sudo') as f:
            return f.read().splitlines()

    def playbook_call(self):
        with open(self.record + '.playbook') as f:
            return json.load(f)

    def prepare_venv(self, python, spec):
        """A venv as an earlier run left it, with a stand-in ansible-playbook."""
        venv = self.checkout / '.venv-run'
        (venv / 'bin').mkdir(parents=True)
        write_exe(str(venv / 'bin' / 'ansible-playbook'), FAKE_ANSIBLE_PLAYBOOK)
        version = subprocess.check_output([real_python(os.path.basename(python)[len('python'):]), '-c', 'import sys; print(sys.version.split()[0])'],
                                          universal_newlines=True).strip()
        lock = self.checkout / 'requirements' / ('bootstrap-el8.txt' if spec == EL8 else 'bootstrap.txt')
        with open(str(lock)) as f:
            checksum = subprocess.check_output(['cksum'], stdin=f, universal_newlines=True).strip()
        (venv / '.bootstrap-stamp').write_text('%s %s ansible-core%s %s\n' % (python, version, spec, checksum))
        return venv


@pytest.mark.parametrize('system', SYSTEMS, ids=system_id)
def test_dry_run_says_what_it_would_install_and_run(tmp_path, system):
    os_id, version, python3, others, pm, package, picked, spec = system
    box = Box(tmp_path, os_id, version, python3, others)
    plan = box.dry_run('--check', '-e', 'a=b c')
    if package:
        assert plan['install'] == '%s (with %s)' % (package, pm)
        assert plan['python'] == '(the Python of %s)' % package
    else:
        assert plan['install'] == 'nothing'
        assert os.path.basename(plan['python']) == picked
    lock = 'requirements/bootstrap-el8.txt' if spec == EL8 else 'requirements/bootstrap.txt'
    assert plan['ansible-core'] == '%s (pinned with hashes in %s)' % (spec, lock)
    assert plan['run'] == "ansible-playbook playbooks/site.yml --check -e a=b\\ c"
    assert box.package_calls() == [], 'a dry run installs nothing'
    assert not (box.checkout / '.venv-run').exists()


def test_dry_run_shows_exactly_the_arguments_the_run_passes(tmp_path):
    box = Box(tmp_path, 'debian', '13', '3.13', venv_missing=False)
    assert box.dry_run()['run'] == 'ansible-playbook playbooks/site.yml'
    box.prepare_venv(os.path.join(box.root, 'usr', 'bin', 'python3.13'), TESTED)
    assert box.run().returncode == 0
    assert box.playbook_call()['argv'] == [str(box.checkout / 'playbooks' / 'site.yml')]


@pytest.mark.parametrize('system', SYSTEMS, ids=system_id)
def test_installs_the_family_package_and_runs_site_with_that_python(tmp_path, system):
    os_id, version, python3, others, pm, package, picked, spec = system
    box = Box(tmp_path, os_id, version, python3, others)
    python = os.path.join(box.root, 'usr', 'bin', picked)
    box.prepare_venv(python, spec)
    result = box.run()
    assert result.returncode == 0, result.stderr
    calls = [c['argv'] for c in box.package_calls()]
    if package is None:
        assert calls == []
    elif pm == 'apt-get':
        assert calls == [['apt-get', 'update', '-q'],
                         ['apt-get', 'install', '-y', '-q', '--no-install-recommends', package]]
        assert 'installing %s with apt-get' % package in result.stderr
    elif pm == 'dnf':
        assert calls == [['dnf', 'install', '-y', '-q', package]]
    else:
        assert calls == [['zypper', '--non-interactive', '--quiet', 'install', '--no-recommends', package]]
    call = box.playbook_call()
    assert call['python'] == python, 'localhost runs modules with the Python the venv was made from'
    assert call['argv'] == [str(box.checkout / 'playbooks' / 'site.yml')]
    assert call['config'] == str(box.checkout / 'ansible.cfg')


def test_second_run_installs_nothing(tmp_path):
    box = Box(tmp_path, 'debian', '12', '3.11')
    python = os.path.join(box.root, 'usr', 'bin', 'python3.11')
    box.prepare_venv(python, TESTED)
    assert box.run().returncode == 0
    assert len(box.package_calls()) == 2
    assert box.run().returncode == 0
    assert len(box.package_calls()) == 2, 'python3-venv is there now: nothing more is installed'


@pytest.mark.parametrize('system', UNSUPPORTED, ids=lambda s: '%s-%s' % s)
def test_unsupported_system_fails_at_once_with_the_list_and_what_to_do(tmp_path, system):
    box = Box(tmp_path, system[0], system[1], '3.11')
    result = box.run()
    assert result.returncode == 1
    assert '%s %s is not supported' % system in result.stderr
    for name in ('Debian 12, 13', 'Ubuntu 22.04, 24.04, 26.04', 'Amazon Linux 2023', 'SLES 15',
                 'openSUSE Leap 15.6, 16.0'):
        assert name in result.stderr
    assert 'CHARRNN_PYTHON=' in result.stderr and 'venv' in result.stderr
    assert box.package_calls() == []
    assert not (box.checkout / '.venv-run').exists()


def test_no_os_release_is_unknown(tmp_path):
    box = Box(tmp_path, 'debian', '12', '3.11')
    os.unlink(os.path.join(box.root, 'etc', 'os-release'))
    result = box.run()
    assert result.returncode == 1
    assert 'an unknown system (no /etc/os-release) is not supported' in result.stderr


def test_charrnn_python_runs_anywhere(tmp_path):
    box = Box(tmp_path, 'fedora', '41', '3.11')
    python = real_python('3.12')
    plan = box.dry_run(CHARRNN_PYTHON=python)
    assert plan['python'] == python and plan['install'] == 'nothing'


def test_charrnn_python_too_old_is_refused(tmp_path):
    box = Box(tmp_path, 'rhel', '8.10', '3.6')
    result = box.run(CHARRNN_PYTHON=real_python('3.9'))
    assert result.returncode == 1
    assert 'is not Python 3.10 to 3.12' in result.stderr, 'EL 8 caps the controller at 3.12 (ansible-core 2.16)'


def test_arguments_and_exit_status_pass_through(tmp_path):
    box = Box(tmp_path, 'debian', '13', '3.13', venv_missing=False)
    box.prepare_venv(os.path.join(box.root, 'usr', 'bin', 'python3.13'), TESTED)
    result = box.run('train.yml', '-e', 'charrnn_train_state=restarted', '--tags', 'x y', FAKE_PLAYBOOK_RC='4')
    assert result.returncode == 4
    call = box.playbook_call()
    assert call['argv'] == [str(box.checkout / 'playbooks' / 'train.yml'), '-e', 'charrnn_train_state=restarted',
                            '--tags', 'x y']
    assert call['cwd'] == str(tmp_path), "the caller's directory, so that relative -i and -e @file paths work"


def test_a_playbook_path_of_ones_own(tmp_path):
    box = Box(tmp_path, 'debian', '13', '3.13', venv_missing=False)
    box.prepare_venv(os.path.join(box.root, 'usr', 'bin', 'python3.13'), TESTED)
    (tmp_path / 'mine.yml').write_text('---\n')
    assert box.run('mine.yml', '--check').returncode == 0
    assert box.playbook_call()['argv'] == [str(tmp_path / 'mine.yml'), '--check']


def test_sudoer_installs_through_sudo_with_the_proxy_settings(tmp_path):
    box = Box(tmp_path, 'amzn', '2023', '3.9')
    write_exe(str(box.bin / 'id'), '#!/bin/sh\n[ "$1" = -u ] && echo 1000 || exec /usr/bin/id "$@"\n')
    box.prepare_venv(os.path.join(box.root, 'usr', 'bin', 'python3.11'), TESTED)
    result = box.run(http_proxy='http://proxy.example:3128', https_proxy='http://proxy.example:3128',
                     no_proxy='localhost')
    assert result.returncode == 0, result.stderr
    assert [c for c in box.sudo_calls() if 'dnf' in c] == [
        'sudo --preserve-env=http_proxy,https_proxy,no_proxy dnf install -y -q python3.11']
    [call] = box.package_calls()
    assert call['uid_env'] == {'http_proxy': 'http://proxy.example:3128',
                               'https_proxy': 'http://proxy.example:3128', 'no_proxy': 'localhost'}
    assert '--ask-become-pass' not in box.playbook_call()['argv'], 'sudo without a password asks for none'


def test_a_proxy_password_never_reaches_a_command_line(tmp_path):
    box = Box(tmp_path, 'debian', '12', '3.11')
    write_exe(str(box.bin / 'id'), '#!/bin/sh\n[ "$1" = -u ] && echo 1000 || exec /usr/bin/id "$@"\n')
    box.prepare_venv(os.path.join(box.root, 'usr', 'bin', 'python3.11'), TESTED)
    result = box.run(https_proxy='http://deploy:s3cret@proxy.example:3128')
    assert result.returncode == 0, result.stderr
    assert box.sudo_calls() and not any('s3cret' in call for call in box.sudo_calls())
    calls = box.package_calls()
    assert calls and all(call['uid_env']['https_proxy'] == 'http://deploy:s3cret@proxy.example:3128' for call in calls)


def test_os_release_is_read_as_data_not_run(tmp_path):
    box = Box(tmp_path, 'debian', '12', '3.11', venv_missing=False)
    marker = tmp_path / 'ran'
    with open(os.path.join(box.root, 'etc', 'os-release'), 'a') as f:
        f.write('BUG_REPORT_URL="$(touch %s)"\n' % marker)
    assert box.dry_run()['system'] == 'debian 12'
    assert not marker.exists()


def test_as_root_it_refuses_a_checkout_anyone_may_change(tmp_path):
    box = Box(tmp_path, 'debian', '13', '3.13', venv_missing=False)
    write_exe(str(box.bin / 'id'), '#!/bin/sh\n[ "$1" = -u ] && echo 0 || exec /usr/bin/id "$@"\n')
    planted = box.checkout / 'playbooks' / 'site.yml'
    os.chmod(str(planted), 0o666)
    result = box.run()
    assert result.returncode == 1
    assert '%s belongs to another user or anyone may write it' % planted in result.stderr
    assert box.package_calls() == []


def test_sudo_with_a_password_makes_ansible_ask_for_it(tmp_path):
    box = Box(tmp_path, 'debian', '13', '3.13', venv_missing=False)
    write_exe(str(box.bin / 'id'), '#!/bin/sh\n[ "$1" = -u ] && echo 1000 || exec /usr/bin/id "$@"\n')
    box.prepare_venv(os.path.join(box.root, 'usr', 'bin', 'python3.13'), TESTED)
    assert box.run(FAKE_SUDO_NOPASS='0').returncode == 0
    assert box.playbook_call()['argv'][1:] == ['--ask-become-pass']
    assert box.run('-K', FAKE_SUDO_NOPASS='0').returncode == 0
    assert box.playbook_call()['argv'][1:] == ['-K'], 'not asked twice'


def suse_status(*registered):
    """SUSEConnect --status as JSON (SUSE's published shape), with these products registered."""
    products = ['SLES', 'sle-module-basesystem', 'sle-module-python3']
    return json.dumps([{'identifier': product, 'version': '15.6', 'arch': 'x86_64',
                        'status': 'Registered' if product in registered else 'Not Registered'} for product in products])


@pytest.mark.parametrize('registered, phrases', [
    ((), ['SLES 15.6 is not registered, so zypper cannot find python311: it comes from the SLE Python 3 module.',
          'SUSEConnect -r <registration code>', 'registercloudguest --force-new',
          'then run SUSEConnect -p sle-module-python3/15.6/']),
    (('SLES', 'sle-module-basesystem'), ['the SLE Python 3 module, which python311 comes from, is not active on SLES 15.6.',
                                         'Run SUSEConnect -p sle-module-python3/15.6/']),
], ids=['unregistered', 'module-off'])
def test_sles_without_the_python_module_names_the_suseconnect_steps(tmp_path, registered, phrases):
    box = Box(tmp_path, 'sles', '15.6', '3.6')
    write_exe(str(box.bin / 'SUSEConnect'), '#!/bin/sh\necho "$FAKE_SUSE_STATUS"\n')
    result = box.run(FAKE_SUSE_STATUS=suse_status(*registered))
    assert result.returncode == 1
    message = ' '.join(result.stderr.replace('sles ', 'SLES ').split())
    for phrase in phrases:
        assert phrase in message, result.stderr
    assert box.package_calls() == [], 'zypper ran'


def test_sles_with_the_python_module_installs_python311(tmp_path):
    box = Box(tmp_path, 'sles', '15.6', '3.6')
    write_exe(str(box.bin / 'SUSEConnect'), '#!/bin/sh\necho "$FAKE_SUSE_STATUS"\n')
    box.prepare_venv(os.path.join(box.root, 'usr', 'bin', 'python3.11'), TESTED)
    result = box.run(FAKE_SUSE_STATUS=suse_status('SLES', 'sle-module-basesystem', 'sle-module-python3'))
    assert result.returncode == 0, result.stderr
    assert [call['argv'][:1] + call['argv'][-1:] for call in box.package_calls()] == [['zypper', 'python311']]


def test_failed_package_install_names_the_package(tmp_path):
    box = Box(tmp_path, 'opensuse-leap', '15.6', '3.6')
    result = box.run(FAKE_PM_RC='104')
    assert result.returncode == 1
    assert 'zypper could not install python311' in result.stderr
    assert not (box.checkout / '.venv-run').exists()


def stand_in_ansible_core_wheel(directory):
    """ansible-core 2.16.99 whose ansible-playbook records its call: pip installs it without an index."""
    name = 'ansible_core-2.16.99-py3-none-any.whl'
    files = {
        'stand_in_ansible/__init__.py': (
            'import json, os, sys\n'
            'def main():\n'
            '    with open(os.environ["FAKE_RECORD"] + ".playbook", "w") as f:\n'
            '        json.dump({"argv": sys.argv[1:], "python": os.environ.get("CHARRNN_LOCAL_PYTHON"),\n'
            '                   "config": os.environ.get("ANSIBLE_CONFIG"), "cwd": os.getcwd()}, f)\n'),
        'ansible_core-2.16.99.dist-info/METADATA': 'Metadata-Version: 2.1\nName: ansible-core\nVersion: 2.16.99\n',
        'ansible_core-2.16.99.dist-info/WHEEL': (
            'Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'),
        'ansible_core-2.16.99.dist-info/entry_points.txt': (
            '[console_scripts]\nansible-playbook = stand_in_ansible:main\n'),
    }
    record = ''.join('%s,,\n' % path for path in files) + 'ansible_core-2.16.99.dist-info/RECORD,,\n'
    files['ansible_core-2.16.99.dist-info/RECORD'] = record
    with zipfile.ZipFile(os.path.join(str(directory), name), 'w') as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def test_makes_the_venv_with_pip_honouring_the_environment_then_reuses_it(tmp_path):
    box = Box(tmp_path, 'debian', '12', '3.11')
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    stand_in_ansible_core_wheel(wheels)
    # pip's own settings from the environment: no index at all, only this directory; a range of one's own
    # instead of the lock (whose hashes the stand-in does not have).
    env = dict(PIP_NO_INDEX='1', PIP_FIND_LINKS=str(wheels), PIP_CONSTRAINT='', CHARRNN_ANSIBLE_CORE='>=2.16,<2.22')
    result = box.run('-e', 'x=1', **env)
    assert result.returncode == 0, result.stderr
    assert 'installing ansible-core>=2.16,<2.22 into .venv-run' in result.stderr
    venv = box.checkout / '.venv-run'
    python = os.path.join(box.root, 'usr', 'bin', 'python3.11')
    assert os.path.realpath(str(venv / 'bin' / 'python')) == os.path.realpath(python)
    assert box.playbook_call()['argv'] == [str(box.checkout / 'playbooks' / 'site.yml'), '-e', 'x=1']
    stamp = (venv / '.bootstrap-stamp').stat()
    (venv / 'kept').write_text('')
    os.unlink(box.record + '.playbook')
    result = box.run(**env)
    assert result.returncode == 0, result.stderr
    assert 'installing' not in result.stderr
    assert (venv / 'kept').exists() and (venv / '.bootstrap-stamp').stat().st_mtime == stamp.st_mtime
    assert len(box.package_calls()) == 2, 'the second run installed nothing'
    assert box.playbook_call()['python'] == python


def test_by_default_pip_installs_only_what_the_lock_hashes(tmp_path):
    box = Box(tmp_path, 'debian', '12', '3.11')
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    stand_in_ansible_core_wheel(wheels)  # an ansible-core the lock does not name, with no hash of its own
    result = box.run(PIP_NO_INDEX='1', PIP_FIND_LINKS=str(wheels), PIP_CONSTRAINT='')
    assert result.returncode == 1
    assert 'installing ansible-core>=2.16,<2.22 (requirements/bootstrap.txt) into .venv-run' in result.stderr
    assert 'pip could not install ansible-core>=2.16,<2.22' in result.stderr
    assert not os.path.exists(box.record + '.playbook')


@pytest.mark.parametrize('lock,core_range', [('bootstrap.txt', TESTED), ('bootstrap-el8.txt', EL8)])
def test_the_locks_pin_every_package_with_hashes_within_the_tested_range(lock, core_range):
    with open(os.path.join(REPO, 'requirements', lock)) as f:
        text = f.read().replace('\\\n', ' ')
    pins = [line for line in text.splitlines() if line and not line.startswith('#')]
    assert pins and all(re.match(r'^[a-z0-9_.-]+==\S+( ;[^-]+)?(\s+--hash=sha256:[0-9a-f]{64})+\s*$', pin) for pin in pins), pins
    low, high = re.match(r'^>=(\d+\.\d+),<(\d+\.\d+)$', core_range).groups()

    def version(text):
        return tuple(int(part) for part in text.split('.')[:2])

    cores = [re.match(r'^ansible-core==(\S+)', pin).group(1) for pin in pins if pin.startswith('ansible-core==')]
    assert cores and all(version(low) <= version(core) < version(high) for core in cores)


def test_the_launcher_knows_exactly_the_supported_list_of_the_deps_role():
    """The systems the launcher handles, and the list it prints, are the deps role's support list."""
    import re
    import yaml
    with open(os.path.join(REPO, 'roles', 'deps', 'vars', 'main.yml')) as f:
        support = yaml.safe_load(f)['_charrnn_deps_support']
    with open(LAUNCHER) as f:
        launcher = f.read()
    printed = re.search(r'supported_text="(.*?)"', launcher, re.S).group(1).replace('\\\n', '')
    assert printed == '; '.join('%s %s' % (e['label'], ', '.join(e['versions'])) for e in support)
    ids = {'Debian': 'debian', 'Ubuntu': 'ubuntu', 'RedHat': 'rhel', 'Rocky': 'rocky', 'AlmaLinux': 'almalinux',
           'Amazon': 'amzn', 'SLES': 'sles', 'openSUSE Leap': 'opensuse-leap'}
    listed = set()
    for entry in support:
        for version in entry['versions']:
            listed.add((ids[entry['distribution']], version))
    tested = set()
    for system in SYSTEMS:
        os_id, version_id = system[0], system[1]
        whole = (os_id, version_id) in listed
        tested.add((os_id, version_id) if whole else (os_id, version_id.split('.', maxsplit=1)[0]))
    assert tested == listed, 'every listed version has a launcher test, and no test is of an unlisted one'
    for os_id, version_id in UNSUPPORTED:
        assert (os_id, version_id) not in listed and (os_id, version_id.split('.', maxsplit=1)[0]) not in listed


def test_readme_main_command_is_the_one_the_fresh_box_stage_runs():
    with open(os.path.join(REPO, 'README.md')) as f:
        readme = f.read()
    section = readme.split('## Quick start on a fresh box', 1)[1]
    first_block = section.split('```sh\n', 1)[1].split('```', 1)[0].strip()
    assert first_block == './bootstrap.sh'
    with open(os.path.join(REPO, 'tests', 'freshbox', 'fresh-box.sh')) as f:
        assert '\nmain_command=%s\n' % first_block in f.read()


def test_the_readme_table_of_what_it_installs_follows_its_choices():
    """hacking/generate_docs.py writes the README's launcher table from LAUNCHER_SYSTEMS and the locks:
    each system there picks the Python, and installs from the lock, that the launcher does here."""
    import sys
    sys.path.insert(0, os.path.join(REPO, 'hacking'))
    import generate_docs
    listed = {}
    for _label, systems, _python3, _installs, pythons, lock in generate_docs.LAUNCHER_SYSTEMS:
        for system, python in zip(systems, pythons):
            listed[system] = ('python' + python, EL8 if lock == 'bootstrap-el8.txt' else TESTED)
    for os_id, version_id, _python3, others, _pm, _package, picked, core_range in SYSTEMS:
        if others:
            continue
        key = (os_id, version_id) if (os_id, version_id) in listed else (os_id, version_id.split('.', maxsplit=1)[0])
        assert listed.get(key) == (picked, core_range), (os_id, version_id)
    assert generate_docs.locked_core(REPO, 'bootstrap.txt', '3.10').startswith('2.17.')
    assert generate_docs.locked_core(REPO, 'bootstrap-el8.txt', '3.11').startswith('2.16.')
