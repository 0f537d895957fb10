# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.modules import report

LOG = '\n'.join([
    '%d/300 (epoch %.3f), train_loss = %.8f, grad/param norm = 5.1721e-01, time/batch = 0.1250s\t'
    % (i, i / 100.0, 4.0 - i / 100.0) for i in range(1, 100)
] + ['saving checkpoint to cv/lm_lstm_epoch1.00_2.9000.t7\t'])


def hosts(tmp_path):
    log = tmp_path / 'box1.log'
    log.write_text(LOG)
    return [
        {'name': 'box1', 'distribution': 'Debian 12.11', 'bootstrap_seconds': 201.4,
         'first_checkpoint_seconds': 3725, 'rerun_seconds': 8.4, 'best_val_loss': 2.9, 'log': str(log),
         'training': {'running': True, 'iteration': 99, 'iterations': 300, 'median_time_per_batch': 0.125,
                      'train_loss': 3.01, 'eta_seconds': 25.1}},
        {'name': 'box2'},
    ]


def test_writes_table_and_chart_then_changes_nothing(module_runner, tmp_path):
    dest = tmp_path / 'out'
    result = module_runner(report.main, {'dest': str(dest), 'hosts': hosts(tmp_path)})
    assert result['changed'] is True
    text = (dest / 'report.md').read_text()
    assert '| box1 | Debian 12.11 | 3m 21s | 1h 02m | 8s | running | 99/300 | 0.125 | 3.0100 | 2.9000 | 25s |' in text
    assert '| box2 | - | - | - | - | - | - | - | - | - | - |' in text
    assert (dest / 'loss.png').read_bytes().startswith(b'\x89PNG')
    assert result['curves'] == {'box1': {'train': 99, 'val': 1}, 'box2': {'train': 0, 'val': 0}}
    again = module_runner(report.main, {'dest': str(dest), 'hosts': hosts(tmp_path)})
    assert again['changed'] is False


def test_check_mode_writes_nothing(module_runner, tmp_path):
    dest = tmp_path / 'out'
    result = module_runner(report.main, {'dest': str(dest), 'hosts': hosts(tmp_path)}, check_mode=True)
    assert result['changed'] is True
    assert not dest.exists()


def test_unreadable_log_names_the_host(module_runner, module_fail, tmp_path):
    with pytest.raises(module_fail) as failure:
        module_runner(report.main, {'dest': str(tmp_path), 'hosts': [{'name': 'box9', 'log': str(tmp_path / 'nope')}]})
    assert 'box9' in failure.value.result['msg']


def test_a_host_needs_a_name(module_runner, module_fail, tmp_path):
    with pytest.raises(module_fail) as failure:
        module_runner(report.main, {'dest': str(tmp_path), 'hosts': [{'distribution': 'Debian'}]})
    assert 'name' in failure.value.result['msg']
