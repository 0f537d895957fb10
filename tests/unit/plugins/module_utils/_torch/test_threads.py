# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads


def test_thread_env():
    assert _threads.thread_env(2) == {'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '2', 'OMP_WAIT_POLICY': 'PASSIVE'}
    assert _threads.thread_env(None, 3)['OMP_NUM_THREADS'] == '3'
    assert _threads.thread_env()['OPENBLAS_NUM_THREADS'] == str(_threads.cpu_count())
    assert _threads.cpu_count() >= 1


def test_thread_env_with_a_core():
    assert _threads.thread_env(2, core='SkylakeX') == {'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '2',
                                                       'OMP_WAIT_POLICY': 'PASSIVE', 'OPENBLAS_CORETYPE': 'SkylakeX'}
    assert 'OPENBLAS_CORETYPE' not in _threads.thread_env(2, core=None)


def test_same_settings_leaves_the_core_out():
    recorded_before = _threads.thread_env(2)  # a run recorded before the core was set
    now = _threads.thread_env(2, core='SkylakeX')
    assert _threads.same_settings(recorded_before, now)
    assert _threads.same_settings(now, recorded_before)
    assert _threads.same_settings(now, _threads.thread_env(2, core='Haswell'))
    assert _threads.same_settings(now, now)


def test_same_settings_still_compares_the_threads():
    now = _threads.thread_env(2, core='SkylakeX')
    assert not _threads.same_settings(_threads.thread_env(1), now)
    assert not _threads.same_settings(_threads.thread_env(2, 2, core='SkylakeX'), now)
    assert not _threads.same_settings(dict(now, OMP_WAIT_POLICY='ACTIVE'), now)
    assert not _threads.same_settings(None, now)  # a state without env
    assert not _threads.same_settings(['not', 'a', 'dict'], now)
    assert _threads.same_settings(None, None)


def test_same_settings_leaves_the_checkpoint_interval_out():
    recorded_before = _threads.thread_env(2)  # a run recorded before checkpoints were asked for by time
    now = dict(_threads.thread_env(2), CHARRNN_CHECKPOINT_SECONDS='600')
    assert _threads.same_settings(recorded_before, now)
    assert _threads.same_settings(dict(now, CHARRNN_CHECKPOINT_SECONDS='0'), now)
    assert not _threads.same_settings(dict(now, OPENBLAS_NUM_THREADS='1'), now)
