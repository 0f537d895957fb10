# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state


def test_state_round_trip(tmp_path):
    log = str(tmp_path / 'a.log')
    assert _state.read_state(log) == {}
    _state.write_state(log, {'pid': 5, 'command': ['th']})
    assert _state.read_state(log) == {'pid': 5, 'command': ['th']}
    with open(_paths.state_path(log), 'w') as f:
        f.write('{broken')
    assert _state.read_state(log) == {}
    assert _state.read_pid_file(str(tmp_path / 'none')) is None
