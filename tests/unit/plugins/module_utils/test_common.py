# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import common


def test_default_log_path_rule():
    assert common.default_log_path('/opt/rnn-karpathy/cv', 'charrnn') == '/opt/rnn-karpathy/cv/train-charrnn.log'
    assert common.state_path('/x/a.log') == '/x/a.log.state.json'
    assert common.pid_path('/x/a.log') == '/x/a.log.pid'
    assert common.lock_path('s', uid=12).endswith('/charrnn-12-s.lock')


def test_resolve():
    assert common.resolve('cv', '/opt/r') == '/opt/r/cv'
    assert common.resolve('/abs/cv/', '/opt/r') == '/abs/cv'
    assert common.resolve('../x', '/opt/r') == '/opt/x'


@pytest.mark.parametrize('name,ok', [
    ('charrnn', True), ('run-2_b+c', True), ('a.b', False), ('a b', False), ('a/b', False), ('', False),
    ('x' * 81, False),
])
def test_session_names(name, ok):
    assert (common.check_session_name(name) is None) == ok


def test_thread_env():
    assert common.thread_env(2) == {'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '2', 'OMP_WAIT_POLICY': 'PASSIVE'}
    assert common.thread_env(None, 3)['OMP_NUM_THREADS'] == '3'
    assert common.thread_env()['OPENBLAS_NUM_THREADS'] == str(common.cpu_count())
    assert common.cpu_count() >= 1


def test_find_th(tmp_path):
    th = tmp_path / 'th'
    th.write_text('#!/bin/sh\n')
    path, err = common.find_th(str(th))
    assert path is None and 'not executable' in err
    th.chmod(0o755)
    assert common.find_th(str(th)) == (str(th), None)
    path, err = common.find_th(str(tmp_path / 'nope'))
    assert path is None and 'does not exist' in err
    path, err = common.find_th(str(tmp_path))
    assert 'is a directory' in err
    assert common.find_th(None, path_env=str(tmp_path)) == (str(th), None)
    empty = tmp_path / 'empty'
    empty.mkdir()
    if not any(os.path.exists(os.path.join(d, 'th')) for d in common.TORCH_BIN_DIRS):
        path, err = common.find_th(None, path_env=str(empty))
        assert path is None and '/opt/torch/bin' in err


def test_dir_writable_error(tmp_path, monkeypatch):
    assert common.dir_writable_error(str(tmp_path / 'new' / 'deeper'), 'checkpoint_dir') is None
    f = tmp_path / 'file'
    f.write_text('x')
    assert 'is not a directory' in common.dir_writable_error(str(f), 'checkpoint_dir')
    assert 'cannot be created' in common.dir_writable_error(str(f / 'sub'), 'checkpoint_dir')
    monkeypatch.setattr(os, 'access', lambda p, m: False)
    assert 'is not writable' in common.dir_writable_error(str(tmp_path), 'checkpoint_dir')
    assert 'cannot be created' in common.dir_writable_error(str(tmp_path / 'new'), 'checkpoint_dir')


def test_state_round_trip(tmp_path):
    log = str(tmp_path / 'a.log')
    assert common.read_state(log) == {}
    common.write_state(log, {'pid': 5, 'command': ['th']})
    assert common.read_state(log) == {'pid': 5, 'command': ['th']}
    with open(common.state_path(log), 'w') as f:
        f.write('{broken')
    assert common.read_state(log) == {}
    assert common.read_pid_file(str(tmp_path / 'none')) is None
