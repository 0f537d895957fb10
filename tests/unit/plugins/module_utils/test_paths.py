# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _paths


def test_default_log_path_rule():
    assert _paths.default_log_path('/opt/rnn-karpathy/cv', 'charrnn') == '/opt/rnn-karpathy/cv/train-charrnn.log'
    assert _paths.state_path('/x/a.log') == '/x/a.log.state.json'
    assert _paths.pid_path('/x/a.log') == '/x/a.log.pid'
    assert _paths.lock_path('s', uid=12).endswith('/charrnn-12-s.lock')


def test_resolve():
    assert _paths.resolve('cv', '/opt/r') == '/opt/r/cv'
    assert _paths.resolve('/abs/cv/', '/opt/r') == '/abs/cv'
    assert _paths.resolve('../x', '/opt/r') == '/opt/x'
