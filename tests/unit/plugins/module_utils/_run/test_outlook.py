# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Advice, ETA and cost as the checkpoint module reports them, from a real char-rnn log and the train
module's record of its run."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os
import time

from repo_paths import REPO

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import outlook as _outlook
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import trainer as _trainer

LOGS = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'charrnn_logs')
# overfit.log's run (tests/unit/fixtures/charrnn_logs/README.md)
OVERFIT_ARGV = ['th', 'train.lua', '-data_dir', 'data/tiny', '-checkpoint_dir', 'cv', '-gpuid', '-1', '-rnn_size',
                '256', '-num_layers', '2', '-seq_length', '50', '-batch_size', '10', '-train_frac', '0.8',
                '-val_frac', '0.2', '-eval_val_every', '9', '-max_epochs', '80']


def test_a_recorded_overfitting_run_gets_its_advice_and_its_cost(tmp_path):
    (tmp_path / 'data' / 'tiny').mkdir(parents=True)
    (tmp_path / 'data' / 'tiny' / 'input.txt').write_bytes(b'x' * 6000)
    cv = tmp_path / 'cv'
    cv.mkdir()
    log = _paths.default_log_path(str(cv), 's')
    with io.open(os.path.join(LOGS, 'overfit.log'), encoding='utf-8') as f:
        text = f.read()
    with open(log, 'w') as f:
        f.write(_log.run_marker('s', OVERFIT_ARGV) + '\n' + text + '\n[charrnn] run ended: exit status 0\n')
    ended = int(time.time())  # whole seconds, as the record keeps its start
    os.utime(log, (ended, ended))
    _state.write_state(log, {'command': OVERFIT_ARGV, 'chdir': str(tmp_path), 'data_dir': 'data/tiny',
                             'started_at': time.strftime('%Y-%m-%dT%H:%M:%S%z', time.localtime(ended - 7200)),
                             'log_offset': 0, 'early_stopping': {'patience': 5, 'min_delta': 0.0}})
    obs = _trainer.Trainer(str(cv), 'lstm', 's', log).look()
    assert obs['training']['status'] == 'finished'
    out = _outlook.outlook(obs, hourly_price=0.5)
    advice = dict((a['key'], a) for a in out['advice'])
    assert sorted(advice) == ['corpus_too_small', 'model_too_large', 'overfitting']
    assert advice['model_too_large']['message'].startswith(
        'the model has 860983 parameters for 6000 characters of text (143 times as many; ')
    assert 'raise dropout (now 0) or lower rnn_size (now 256)' in advice['overfitting']['message']
    assert advice['corpus_too_small']['numbers']['batches'] == 12
    # ended: nothing left to wait for or to pay, two hours paid
    assert out['eta']['eta_seconds'] == 0 and out['eta']['may_end_sooner'] is False
    assert out['eta']['cost_so_far'] == 1.0 and out['eta']['cost_to_end'] == 0.0
    assert out['eta']['message'] == 'the run has ended (finished), 1.00 spent in 2 h 00 min at 0.5 an hour'
    # without a price, no cost
    assert _outlook.outlook(obs)['eta']['cost_so_far'] is None


def test_a_running_run_with_early_stopping_may_end_sooner():
    now = int(time.time())
    obs = {'state': {'command': OVERFIT_ARGV, 'early_stopping': {'patience': 3, 'min_delta': 0.0},
                     'started_at': time.strftime('%Y-%m-%dT%H:%M:%S%z', time.localtime(now - 1800))},
           'training': {'log_exists': True, 'running': True, 'status': 'training', 'eta_seconds': 3600.0,
                        'iterations': 960, 'log_path': '/nonexistent'},
           'log_lines': [], 'log_head': None}
    eta = _outlook.outlook(obs, hourly_price=2, clock=lambda: now)['eta']
    assert eta['may_end_sooner'] is True and eta['cost_so_far'] == 1.0 and eta['cost_to_end'] == 2.0
    assert eta['message'] == ('about 1 h 00 min left to iteration 960, 1.00 spent in 30 min at 2 an hour, 2.00 more '
                              'to the end; early stopping is on, so the run may end sooner')


def test_nothing_to_say_before_the_log():
    obs = {'state': {}, 'training': {'log_exists': False, 'running': False, 'status': 'not_started'},
           'log_lines': []}
    assert _outlook.outlook(obs, hourly_price=1) == {'advice': [], 'eta': None}
