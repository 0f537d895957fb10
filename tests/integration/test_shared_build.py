# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""A Torch build shared through the controller is unpacked as root on further hosts only when this
controller's key signed it, only if the bytes that reached the host are the ones signed, and never with
the archive's modes. The torch role's archive-save and archive-restore tasks run here on localhost as
root, with a small tree standing in for a build (its proof then fails, after the unpacking this is about)
and a mirror that does not exist (a host that refuses an archive builds, and fails at once)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import ansible_playbook, collections_root  # noqa: E402

ARCHIVE = 'torch-test-kind.tar.gz'

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the torch role unpacks as root')


def run_torch(tmp_path, tasks_from, prefix, **extra):
    play = [{'name': 'Shared build', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.torch', 'tasks_from': tasks_from}}]}]
    (tmp_path / 'play.json').write_text(json.dumps(play))
    variables = {
        '_charrnn_torch_archive_name': ARCHIVE,
        'charrnn_torch_archive_dir': str(tmp_path / 'shared'),
        'charrnn_torch_archive_key_file': str(tmp_path / 'controller' / 'torch-archive.key'),
        'charrnn_torch_prefix': str(prefix),
        'charrnn_torch_build_dir': str(tmp_path / 'build'),
        'charrnn_git_mirror': 'file://%s/nowhere/' % tmp_path,
        'charrnn_torch_system_path': False,
        'ansible_python_interpreter': sys.executable,
    }
    variables.update(extra)
    (tmp_path / 'vars.json').write_text(json.dumps(variables))
    (tmp_path / 'build').mkdir(exist_ok=True)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0')
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', str(tmp_path / 'play.json'),
                           '-e', '@' + str(tmp_path / 'vars.json')],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(tmp_path), check=False)
    output = proc.stdout.decode('utf-8', 'replace')
    (tmp_path / ('output-%s.txt' % tasks_from)).write_text(output)
    return proc.returncode, output


def built_tree(path):
    """A stand-in for a finished build, with a setuid file in it."""
    (path / 'bin').mkdir(parents=True)
    (path / 'bin' / 'th').write_text('#!/bin/sh\necho th\n')
    (path / 'bin' / 'th').chmod(0o755)
    (path / 'bin' / 'helper').write_text('#!/bin/sh\n')
    (path / 'bin' / 'helper').chmod(0o4755)


def add_member(archive, name, content, mode):
    """The archive with one more (or one replaced) member, as someone with write access could make it."""
    with tarfile.open(archive, 'r:gz') as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers() if m.name != name]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(content), mode
        tar.addfile(info, io.BytesIO(content))
    archive.write_bytes(gzip.compress(buf.getvalue()))


@pytest.fixture
def shared(tmp_path):
    """A build shared by a first host, through the role's own save tasks."""
    built = tmp_path / 'built'
    built_tree(built)
    rc, out = run_torch(tmp_path, 'archive-save', built)  # the first share creates the directory
    assert rc == 0, out[-3000:]
    return tmp_path / 'shared' / ARCHIVE


def test_the_first_shared_build_creates_a_private_key_and_signs_it(tmp_path, shared):
    key_file = tmp_path / 'controller' / 'torch-archive.key'
    assert key_file.stat().st_mode & 0o077 == 0
    assert (tmp_path / 'controller').stat().st_mode & 0o077 == 0
    signature = (tmp_path / 'shared' / (ARCHIVE + '.sig')).read_text().split()
    assert len(signature) == 2 and all(len(part) == 64 for part in signature)


def test_a_signed_build_is_unpacked_without_its_modes(tmp_path, shared):
    prefix = tmp_path / 'second-host'
    rc, out = run_torch(tmp_path, 'archive-restore', prefix)
    # the stand-in is no real Torch, so its proof fails after the unpacking
    assert 'Installing the shared Torch build' in out
    assert (prefix / 'bin' / 'th').stat().st_mode & 0o7777 == 0o755
    assert (prefix / 'bin' / 'helper').stat().st_mode & 0o7777 == 0o755
    assert not (tmp_path / 'build' / ARCHIVE).exists()


@pytest.mark.parametrize('tamper', ['added-setuid-file', 'changed-th'])
def test_a_changed_archive_is_refused_before_unpacking(tmp_path, shared, tamper):
    if tamper == 'added-setuid-file':
        add_member(shared, './bin/rootshell', b'#!/bin/sh\nexec /bin/sh\n', 0o4755)
    else:
        add_member(shared, './bin/th', b'#!/bin/sh\nid > /tmp/owned\n', 0o755)
    prefix = tmp_path / 'second-host'
    rc, out = run_torch(tmp_path, 'archive-restore', prefix)
    assert rc != 0
    assert 'is not the one its signature names' in out and 'Nothing was unpacked' in out
    assert not prefix.exists()
    assert not (tmp_path / 'build' / ARCHIVE).exists()


@pytest.mark.parametrize('signature', ['missing', 'forged', 'other-key'])
def test_an_archive_without_this_controllers_signature_is_not_used(tmp_path, shared, signature):
    sig = tmp_path / 'shared' / (ARCHIVE + '.sig')
    extra = {}
    if signature == 'missing':
        sig.unlink()
        reason = 'it has no signature'
    elif signature == 'forged':
        digest = sig.read_text().split()[0]
        sig.write_text('%s %s\n' % (digest, '0' * 64))
        reason = "its signature does not match this controller's key"
    else:
        extra['charrnn_torch_archive_key'] = 'f' * 64
        reason = "its signature does not match this controller's key"
    prefix = tmp_path / 'second-host'
    rc, out = run_torch(tmp_path, 'archive-restore', prefix, **extra)
    assert 'Not unpacking %s: %s' % (shared, reason) in out
    # it builds instead, which fails here at once on the missing mirror
    assert rc != 0 and 'Building Torch7 failed' in out
    assert not (prefix / 'bin').exists()
