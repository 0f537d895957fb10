# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Bad role input on localhost: each run must fail with an error that names the setting to fix, and
leave the host as it was. The torch and char_rnn roles work in temporary directories here; the
torch tests run as root only (the role owns its build directory as root)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import getpass
import grp
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import ansible_playbook, collections_root  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MISSING_COMMIT = '0123456789abcdef0123456789abcdef01234567'


def run_role(tmp_path, role, variables, tasks_from='main'):
    if not ansible_playbook():
        pytest.skip('ansible-playbook not found')
    play = [{
        'name': 'Bad input', 'hosts': 'localhost', 'gather_facts': True,
        'tasks': [{'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.' + role, 'tasks_from': tasks_from}}],
    }]
    path = tmp_path / 'play.json'
    path.write_text(json.dumps(play))
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0')
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', str(path),
                           '-e', 'ansible_python_interpreter=' + sys.executable, '-e', '@' + str(extra)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def tiny_repo(path):
    """A bare repository with one commit; returns that commit."""
    work = path.parent / (path.name + '-work')
    subprocess.check_call(['git', 'init', '-q', str(work)])
    (work / 'README').write_text('not torch/distro\n')
    git = ['git', '-C', str(work), '-c', 'user.name=t', '-c', 'user.email=t@example.invalid']
    subprocess.check_call(git + ['add', 'README'])
    subprocess.check_call(git + ['commit', '-q', '-m', 'one'])
    subprocess.check_call(['git', 'clone', '-q', '--bare', str(work), str(path)])
    return subprocess.check_output(git + ['rev-parse', 'HEAD']).decode().strip()


def test_unsupported_os_is_refused_with_the_supported_list(tmp_path):
    """This machine's own gathered facts against a support list that leaves it out (the fixtures of
    every listed system are in test_deps_repositories.py)."""
    support = [{'distribution': 'Plan9', 'label': 'Plan 9', 'match': 'distribution_major_version', 'versions': ['4']},
               {'distribution': 'Haiku', 'label': 'Haiku', 'match': 'distribution_version', 'versions': ['1', '2']}]
    rc, out = run_role(tmp_path, 'deps', {'_charrnn_deps_support': support, 'charrnn_install_packages': False})
    assert rc != 0
    assert 'is not supported. Supported: Plan 9 4; Haiku 1, 2.' in out
    assert 'charrnn_deps_allow_unsupported=true' in out


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='the roles own their directories as root and become '
                                                          'the training user')


def torch_vars(tmp_path, **kw):
    variables = {
        'charrnn_torch_prefix': str(tmp_path / 'prefix'),
        'charrnn_torch_build_dir': str(tmp_path / 'build'),
        'charrnn_torch_archive_dir': '',
        'charrnn_torch_system_path': False,
    }
    variables.update(kw)
    return variables


@needs_root
def test_torch_unreachable_mirror_names_the_setting(tmp_path):
    prefix = tmp_path / 'prefix'
    prefix.mkdir()
    (prefix / 'keep-me').write_text('an earlier install')
    rc, out = run_role(tmp_path, 'torch', torch_vars(tmp_path, charrnn_git_mirror='file://%s/nowhere/' % tmp_path))
    assert rc != 0
    assert 'Building Torch7 failed' in out
    assert 'cannot clone file://%s/nowhere/torch/distro.git: check charrnn_git_mirror' % tmp_path in out
    assert (prefix / 'keep-me').exists()  # nothing was removed before the sources were there


@needs_root
def test_torch_missing_pinned_commit_names_the_setting(tmp_path):
    mirror = tmp_path / 'mirror'
    tiny_repo(mirror / 'torch' / 'distro.git')
    rc, out = run_role(tmp_path, 'torch', torch_vars(tmp_path, charrnn_git_mirror='file://%s/' % mirror,
                                                     charrnn_torch_version=MISSING_COMMIT))
    assert rc != 0
    assert 'commit %s does not exist in file://%s/torch/distro.git (charrnn_torch_version)' % (
        MISSING_COMMIT, mirror) in out
    assert not (tmp_path / 'prefix').exists()


def charrnn_vars(tmp_path, **kw):
    user = getpass.getuser()
    variables = {
        'charrnn_dir': str(tmp_path / 'checkout'),
        'charrnn_user': user,
        'charrnn_group': grp.getgrgid(os.getgid()).gr_name,
        'charrnn_user_home': str(tmp_path),
        'ansible_become_method': 'su',
    }
    variables.update(kw)
    return variables


@needs_root
@pytest.mark.parametrize('case', ['unreachable', 'missing-commit'])
def test_char_rnn_bad_source_names_the_settings(tmp_path, case):
    mirror = tmp_path / 'mirror'
    commit = tiny_repo(mirror / 'karpathy' / 'char-rnn.git')
    if case == 'unreachable':
        variables = charrnn_vars(tmp_path, charrnn_git_mirror='file://%s/nowhere/' % tmp_path,
                                 charrnn_version=commit)
    else:
        variables = charrnn_vars(tmp_path, charrnn_git_mirror='file://%s/' % mirror, charrnn_version=MISSING_COMMIT)
    rc, out = run_role(tmp_path, 'char_rnn', variables, tasks_from='checkout')
    assert rc != 0
    assert 'Cannot check out char-rnn at %s from file://' % variables['charrnn_version'] in out
    assert 'charrnn_git_mirror, charrnn_repo' in out and 'charrnn_version is a commit of it' in out


@pytest.mark.parametrize('entry,variables,fragment', [
    ('sample', {'charrnn_sample_length': 'long'}, 'charrnn_sample_length'),
    ('status', {'charrnn_train_options': 12}, 'charrnn_train_options'),
    ('fetch', {'charrnn_train_options': 'rnn_size'}, 'charrnn_train_options'),
])
def test_training_entry_points_validate_their_inputs(tmp_path, entry, variables, fragment):
    rc, out = run_role(tmp_path, 'training', dict(variables, charrnn_dir=str(tmp_path / 'none')), tasks_from=entry)
    assert rc != 0
    assert "Validating arguments against arg spec '%s'" % entry in out, out
    assert fragment in out.split("Validating arguments against arg spec '%s'" % entry, 1)[1], out


@pytest.mark.parametrize('role,variables,refused', [
    ('char_rnn', {'charrnn_dataset_name': '../../../etc'}, 'charrnn_dataset_name'),
    ('char_rnn', {'charrnn_dataset_src': '/nonexistent/corpus.txt'}, 'charrnn_dataset_src'),
    ('char_rnn', {'charrnn_dataset_src': '/etc'}, 'charrnn_dataset_src'),
    ('char_rnn', {'charrnn_dir': '/usr'}, 'charrnn_dir'),
    ('char_rnn', {'charrnn_user': '-oroot'}, 'charrnn_user'),
    ('char_rnn', {'charrnn_user_home': '/home/../etc'}, 'charrnn_user_home'),
    ('char_rnn', {'charrnn_version': 'master'}, 'charrnn_version'),
    ('char_rnn', {'charrnn_git_mirror': 'https://deploy:s3cret@git.example.com/'}, 'charrnn_git_mirror'),
    ('torch', {'charrnn_torch_prefix': '/usr'}, 'charrnn_torch_prefix'),
    ('torch', {'charrnn_torch_prefix': '/usr/local'}, 'charrnn_torch_prefix'),
    ('torch', {'charrnn_torch_prefix': '/usr/lib/x86_64-linux-gnu'}, 'charrnn_torch_prefix'),
    ('torch', {'charrnn_torch_prefix': '/var/lib/dpkg'}, 'charrnn_torch_prefix'),
    ('torch', {'charrnn_torch_build_dir': '/root/.ssh'}, 'charrnn_torch_build_dir'),
    ('char_rnn', {'charrnn_facts_dir': '@checkout/facts'}, 'charrnn_facts_dir'),
    ('torch', {'charrnn_torch_prefix': '/opt/torch"; id; "'}, 'charrnn_torch_prefix'),
    ('torch', {'charrnn_torch_build_dir': '/etc/torch-build'}, 'charrnn_torch_build_dir'),
    ('torch', {'charrnn_torch_version': 'master'}, 'charrnn_torch_version'),
    ('torch', {'charrnn_torch_cmake_pip_spec': 'cmake>=3.10,<4', 'charrnn_torch_cmake_pip_hashes': ['sha256:' + 'a' * 64]},
     'charrnn_torch_cmake_pip_spec'),
    ('torch', {'charrnn_torch_cmake_pip_hashes': ['md5:0123']}, 'charrnn_torch_cmake_pip_hashes'),
    ('torch', {'charrnn_torch_pip_index_url': 'https://token:s3cret@pypi.example.com/simple'}, 'charrnn_torch_pip_index_url'),
    ('deps', {'charrnn_extra_packages': ['--nogpgcheck']}, 'charrnn_extra_packages'),
    ('deps', {'charrnn_proxy_env': {'http_proxy': 'http://proxy:3128\nEVIL=1'}}, 'charrnn_proxy_env'),
])
def test_a_bad_variable_is_refused_before_anything_changes(tmp_path, role, variables, refused):
    """Every variable that reaches a root-side path, a shell file, a URL or an argv is checked first:
    the error names the variable and its rule, and the role has created nothing."""
    work = {'charrnn_dir': str(tmp_path / 'checkout'), 'charrnn_user_home': str(tmp_path / 'home'),
            'charrnn_user': 'charrnnbad', 'charrnn_dataset_src': '', 'charrnn_install_packages': False}
    work.update(torch_vars(tmp_path))
    work.update((name, value.replace('@checkout', work['charrnn_dir']) if isinstance(value, str) else value)
                for name, value in variables.items())
    rc, out = run_role(tmp_path, role, work)
    assert rc != 0
    assert '%s = ' % refused in out and 'is refused: ' in out, out[-3000:]
    assert 's3cret' not in out
    assert not any((tmp_path / name).exists() for name in ('checkout', 'home', 'prefix', 'build'))
    with open('/etc/passwd') as passwd:
        assert not any(line.startswith('charrnnbad:') for line in passwd)
