# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _report_manager
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
                      'train_loss': 3.01, 'eta_seconds': 25.1},
         'supervision': {'comes_back_after_reboot': True, 'unit': 'charrnn-train-charrnn.service'},
         'events': [
             {'event': 'started', 'at': '2026-12-07T09:00:00+0000', 'by': 'the train module', 'pid': 10},
             {'event': 'ended', 'at': '2026-12-07T10:00:00+0000', 'exit_status': 0, 'phase': 'training',
              'iteration': 1200, 'stopped_on': 'SIGTERM', 'failed': False,
              'by': 'systemd stopping the unit (a shutdown, or systemctl stop)'},
             {'event': 'started', 'at': '2026-12-07T10:01:00+0000', 'by': 'systemd, after a restart of the host',
              'pid': 11, 'resumed_from': '/opt/rnn-karpathy/cv/lm_lstm_epoch3.10_1.9000.t7'},
             {'event': 'ended', 'at': '2026-12-07T11:00:00+0000', 'exit_status': 137, 'phase': 'training',
              'iteration': 900, 'failed': True},
             {'event': 'ended', 'at': '2026-12-07T12:00:00+0000', 'exit_status': 0, 'phase': 'training',
              'iteration': 950, 'failed': False, 'stopped_on': 'SIGTERM', 'interruption': 'GCP preemption notice'}]},
        {'name': 'box3', 'training': {'running': False, 'status': 'finished', 'iteration': 301, 'iterations': 720,
                                      'early_stop': {'iteration': 297, 'best': 'cv/lm_lstm_epoch28.00_2.3451.t7',
                                                     'reason': '5 validation(s) without a new best, patience 5'}},
         'eta': {'message': 'the run has ended (finished), 1.00 spent in 2 h 00 min at 0.5 an hour'},
         'supervision': {'comes_back_after_reboot': True, 'unit': 'charrnn-train-charrnn.service'},
         'advice': [{'key': 'model_too_large', 'message': 'the model has 860983 parameters for 6000 characters'}]},
        {'name': 'box2', 'supervision': {'comes_back_after_reboot': False,
                                         'reason': 'the run will not come back after a restart of the host: no systemd'}},
    ]


def test_writes_table_and_chart_then_changes_nothing(module_runner, tmp_path):
    dest = tmp_path / 'out'
    result = module_runner(report.main, {'dest': str(dest), 'hosts': hosts(tmp_path)})
    assert result['changed'] is True
    text = (dest / 'report.md').read_text()
    assert ('| box1 | Debian 12.11 | 3m 21s | 1h 02m | 8s | running | 99/300 | 0.125 | 3.0100 | 2.9000 | 25s '
            '| resumes (charrnn-train-charrnn.service) |') in text
    assert '| box2 | - | - | - | - | - | - | - | - | - | - | no: no systemd |' in text
    assert text.split('## Restarts and interruptions\n\n', 1)[1].splitlines()[:5] == [
        '- 2026-12-07T09:00:00+0000 box1: started by the train module',
        '- 2026-12-07T10:00:00+0000 box1: the trainer ended at iteration 1200, stopped on SIGTERM, by systemd '
        'stopping the unit (a shutdown, or systemctl stop)',
        '- 2026-12-07T10:01:00+0000 box1: started by systemd, after a restart of the host, resuming from '
        '/opt/rnn-karpathy/cv/lm_lstm_epoch3.10_1.9000.t7',
        '- 2026-12-07T11:00:00+0000 box1: the trainer ended at iteration 900, exit status 137 (training)',
        '- 2026-12-07T12:00:00+0000 box1: the trainer ended at iteration 950, interrupted by the cloud (GCP preemption '
        'notice)']
    assert '| box3 | - | - | - | - | finished | 301/720 | - | - | - | - | stays down: training finished |' in text
    assert text.split('## How the runs stand: early stops, ETA and cost, advice\n\n', 1)[1].split('\n\n')[0] == '\n'.join([
        '- box3: stopped early at iteration 297, best checkpoint cv/lm_lstm_epoch28.00_2.3451.t7: 5 validation(s) '
        'without a new best, patience 5',
        '- box3: ETA: the run has ended (finished), 1.00 spent in 2 h 00 min at 0.5 an hour',
        '- box3: advice: the model has 860983 parameters for 6000 characters'])
    assert (dest / 'loss.png').read_bytes().startswith(b'\x89PNG')
    assert result['curves'] == {'box1': {'train': 99, 'val': 1}, 'box3': {'train': 0, 'val': 0},
                                'box2': {'train': 0, 'val': 0}}
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


@pytest.mark.parametrize('supervision,cell', [
    (None, '-'),
    ({'comes_back_after_reboot': True, 'unit': 'charrnn-train-x.service'}, 'resumes (charrnn-train-x.service)'),
    ({'comes_back_after_reboot': True, 'active_state': 'failed', 'result': 'start-limit-hit', 'restarts': 5},
     'gave up after 5 restarts; resumes at the next boot'),
    ({'comes_back_after_reboot': False, 'reason': 'the run will not come back after a restart of the host: the unit '
      'is disabled (the run was stopped): train it again to start it'},
     'no: the unit is disabled (the run was stopped): train it again to start it'),
])
def test_the_after_a_reboot_column(supervision, cell):
    assert _report_manager.after_reboot(supervision) == cell
