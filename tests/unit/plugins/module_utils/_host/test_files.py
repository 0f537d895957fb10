# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files


def test_dir_writable_error(tmp_path, monkeypatch):
    assert _files.dir_writable_error(str(tmp_path / 'new' / 'deeper'), 'checkpoint_dir') is None
    f = tmp_path / 'file'
    f.write_text('x')
    assert 'is not a directory' in _files.dir_writable_error(str(f), 'checkpoint_dir')
    assert 'cannot be created' in _files.dir_writable_error(str(f / 'sub'), 'checkpoint_dir')
    monkeypatch.setattr(os, 'access', lambda p, m: False)
    assert 'is not writable' in _files.dir_writable_error(str(tmp_path), 'checkpoint_dir')
    assert 'cannot be created' in _files.dir_writable_error(str(tmp_path / 'new'), 'checkpoint_dir')


def test_write_if_changed_replaces_whole_and_only_on_change(tmp_path):
    path = str(tmp_path / 'out.txt')
    moves = []

    def replace(tmp, dest):
        moves.append((os.path.basename(tmp), os.path.basename(dest)))
        os.rename(tmp, dest)
    assert _files.write_if_changed(path, b'one', check_mode=True) == (True, None)
    assert os.listdir(str(tmp_path)) == []
    assert _files.write_if_changed(path, b'one', replace=replace) == (True, None)
    assert moves == [('out.txt.%d.tmp' % os.getpid(), 'out.txt')]
    assert _files.write_if_changed(path, b'one', replace=replace) == (False, b'one')
    assert _files.write_if_changed(path, b'two', check_mode=True) == (True, b'one')
    assert _files.write_if_changed(path, b'two', mode=0o600) == (True, b'one')
    with open(path, 'rb') as f:
        assert f.read() == b'two'
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert len(moves) == 1 and os.listdir(str(tmp_path)) == ['out.txt']


def test_write_if_changed_failure_leaves_the_old_file(tmp_path):
    path = str(tmp_path / 'out.txt')
    _files.write_if_changed(path, b'old')

    def refuse(tmp, dest):
        raise OSError(13, 'Permission denied')
    with pytest.raises(OSError):
        _files.write_if_changed(path, b'new', replace=refuse)
    with open(path, 'rb') as f:
        assert f.read() == b'old'
    assert os.listdir(str(tmp_path)) == ['out.txt']


def test_a_new_file_is_never_written_through_a_link_planted_at_its_name(tmp_path):
    target = tmp_path / 'target'
    target.write_text('untouched')
    planted = tmp_path / 'state.json.123.tmp'
    planted.symlink_to(target)
    with _files.create_new(str(planted), text=True) as f:
        f.write('new')
    assert target.read_text() == 'untouched'
    assert not planted.is_symlink() and planted.read_text() == 'new'


def test_write_if_changed_replaces_a_link_at_its_temporary_name(tmp_path, monkeypatch):
    target = tmp_path / 'target'
    target.write_text('untouched')
    path = tmp_path / 'file'
    monkeypatch.setattr(os, 'getpid', lambda: 7)
    (tmp_path / 'file.7.tmp').symlink_to(target)
    assert _files.write_if_changed(str(path), b'data')[0]
    assert path.read_bytes() == b'data' and target.read_text() == 'untouched'
