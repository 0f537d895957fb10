# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The training user cannot make root write through a link: with a real unprivileged user on this host, the
char_rnn role checks out char-rnn and places a dataset, the user replaces every path the role writes
under the checkout and the user's home with a link to a file or directory of root's, and a re-run of the
role must leave those targets as they were (their owner, mode and content). Runs as root only (it
creates the user)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import ansible_playbook, collections_root  # noqa: E402
from test_day_two import POEMS, char_rnn_mirror  # noqa: E402

# The user cannot enter this checkout's virtualenv; the modules need nothing beyond the standard library.
HOST_PYTHON = shutil.which('python3') if os.path.dirname(shutil.which('python3') or '') != os.path.dirname(sys.executable) \
    else '/usr/bin/python3'

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('useradd') or not shutil.which('setfacl'),
                                reason='needs root, useradd and setfacl (becoming an unprivileged user)')


@pytest.fixture
def box():
    """A base directory others may enter (pytest's are root's alone), and an unprivileged user living in it."""
    base = tempfile.mkdtemp(prefix='charrnn-links-')
    os.chmod(base, 0o755)
    user = 'charrnnlnk%d' % (os.getpid() % 100000)
    home = os.path.join(base, 'home')
    subprocess.check_call(['useradd', '--home-dir', home, '--create-home', '--shell', '/bin/sh', '--user-group', user])
    try:
        yield base, user, home
    finally:
        subprocess.call(['userdel', user])
        shutil.rmtree(base, ignore_errors=True)


def run_checkout(base, user, home, commit, n, checkout=None):
    play = [{'name': 'Checkout', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.char_rnn', 'tasks_from': 'checkout'}}]}]
    run_dir = os.path.join(base, 'run%d' % n)
    os.mkdir(run_dir)
    with open(os.path.join(run_dir, 'play.json'), 'w') as f:
        json.dump(play, f)
    variables = {
        'charrnn_dir': checkout or os.path.join(base, 'checkout'), 'charrnn_user': user, 'charrnn_group': user,
        'charrnn_user_home': home, 'charrnn_git_mirror': 'file://%s/mirror/' % base, 'charrnn_version': commit,
        'charrnn_dataset_src': os.path.join(base, 'poems.txt'), 'charrnn_dataset_name': 'poems',
        'ansible_become_method': 'su', 'ansible_python_interpreter': HOST_PYTHON,
    }
    with open(os.path.join(run_dir, 'vars.json'), 'w') as f:
        json.dump(variables, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_LOCAL_TEMP=os.path.join(run_dir, 'tmp'))
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', os.path.join(run_dir, 'play.json'),
                           '-e', '@' + os.path.join(run_dir, 'vars.json'), '--skip-tags', 'charrnn_verify'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=run_dir, env=env, timeout=300, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def as_user(user, script):
    subprocess.check_call(['su', user, '-s', '/bin/sh', '-c', script])


def looks(path):
    st = os.lstat(path)
    content = open(path, 'rb').read() if os.path.isfile(path) else sorted(os.listdir(path))
    return st.st_uid, st.st_gid, st.st_mode, content


def test_a_rerun_writes_through_no_link_the_training_user_planted(box):
    base, user, home = box
    commit = char_rnn_mirror(pathlib.Path(base))
    with open(os.path.join(base, 'poems.txt'), 'w') as f:
        f.write(POEMS)
    rc, out = run_checkout(base, user, home, commit, 1)
    assert rc == 0, out[-4000:]
    checkout = os.path.join(base, 'checkout')
    assert os.stat(os.path.join(checkout, 'cv')).st_uid == os.stat(home).st_uid
    # a corpus of one's own and the checkpoints stay away from other local users
    for private in ('cv', 'data/poems', 'data/poems/input.txt'):
        assert os.stat(os.path.join(checkout, private)).st_mode & 0o007 == 0, private

    # what root owns and must stay as it is, whatever the user points at it
    root_dir = os.path.join(base, 'root-dir')
    os.mkdir(root_dir, 0o700)
    root_file = os.path.join(base, 'root-file')
    with open(root_file, 'w') as f:
        f.write('root only\n')
    os.chmod(root_file, 0o600)
    before = {p: looks(p) for p in (root_dir, root_file)}
    # every path the role writes under the checkout or the home, replaced with a link to root's
    planted = {
        os.path.join(checkout, 'cv'): root_dir,
        os.path.join(checkout, 'data', 'poems'): root_dir,
        os.path.join(checkout, '.git', 'info', 'exclude'): root_file,
        os.path.join(home, '.charrnn-mirror.gitconfig'): root_file,
    }
    as_user(user, '; '.join('rm -rf "%s" && ln -s "%s" "%s"' % (link, target, link) for link, target in planted.items()))
    rc, out = run_checkout(base, user, home, commit, 2)
    for path, look in before.items():
        assert looks(path) == look, (path, out[-4000:])
    # what the user planted stays the user's business: at most a link of its own was replaced by its own file
    gitconfig = os.path.join(home, '.charrnn-mirror.gitconfig')
    assert os.path.islink(gitconfig) or os.lstat(gitconfig).st_uid == os.stat(home).st_uid


def test_root_hands_over_no_checkout_directory_that_is_a_link(box):
    """A checkout inside the training user's home, which the user has replaced with a link to a directory
    of root's: root must not create, chown or chmod what the link points to."""
    base, user, home = box
    commit = char_rnn_mirror(pathlib.Path(base))
    with open(os.path.join(base, 'poems.txt'), 'w') as f:
        f.write(POEMS)
    root_dir = os.path.join(base, 'root-dir')
    os.mkdir(root_dir, 0o700)
    before = looks(root_dir)
    checkout = os.path.join(home, 'char-rnn')
    as_user(user, 'ln -s "%s" "%s"' % (root_dir, checkout))
    rc, out = run_checkout(base, user, home, commit, 1, checkout=checkout)
    assert rc != 0 and 'is a link to %s; root does not follow it' % root_dir in out, out[-3000:]
    assert looks(root_dir) == before
