# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _threads


def test_thread_env():
    assert _threads.thread_env(2) == {'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '2', 'OMP_WAIT_POLICY': 'PASSIVE'}
    assert _threads.thread_env(None, 3)['OMP_NUM_THREADS'] == '3'
    assert _threads.thread_env()['OPENBLAS_NUM_THREADS'] == str(_threads.cpu_count())
    assert _threads.cpu_count() >= 1
