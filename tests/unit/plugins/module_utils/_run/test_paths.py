# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths


def test_default_log_path_rule():
    assert _paths.default_log_path('/opt/rnn-karpathy/cv', 'charrnn') == '/opt/rnn-karpathy/cv/train-charrnn.log'
    assert _paths.state_path('/x/a.log') == '/x/a.log.state.json'
    assert _paths.pid_path('/x/a.log') == '/x/a.log.pid'
    assert _paths.lock_path('s', uid=12).endswith('/charrnn-12-s.lock')


def test_the_lock_lies_in_the_users_own_home_whatever_home_and_tmpdir_say(monkeypatch, tmp_path):
    import pwd
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    home = pwd.getpwuid(os.getuid()).pw_dir
    if not os.access(home, os.W_OK):
        pytest.skip('this user has no writable home')
    assert _paths.lock_path('s') == os.path.join(home, '.cache', 'rnn_bootstrap.charrnn', 'charrnn-%d-s.lock' % os.getuid())


def test_a_user_without_a_home_locks_in_tmp(monkeypatch):
    def no_such_user(uid):
        raise KeyError(uid)

    monkeypatch.setattr(_paths.pwd, 'getpwuid', no_such_user)
    assert _paths.lock_path('s', uid=4242) == '/tmp/charrnn-4242-s.lock'


def test_resolve():
    assert _paths.resolve('cv', '/opt/r') == '/opt/r/cv'
    assert _paths.resolve('/abs/cv/', '/opt/r') == '/abs/cv'
    assert _paths.resolve('../x', '/opt/r') == '/opt/x'
