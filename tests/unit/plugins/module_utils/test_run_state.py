# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _run_state


def test_state_round_trip(tmp_path):
    log = str(tmp_path / 'a.log')
    assert _run_state.read_state(log) == {}
    _run_state.write_state(log, {'pid': 5, 'command': ['th']})
    assert _run_state.read_state(log) == {'pid': 5, 'command': ['th']}
    with open(_paths.state_path(log), 'w') as f:
        f.write('{broken')
    assert _run_state.read_state(log) == {}
    assert _run_state.read_pid_file(str(tmp_path / 'none')) is None
