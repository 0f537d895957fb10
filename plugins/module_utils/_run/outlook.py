# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""What a run's curves say about it, as the checkpoint module reports it: the advice of _charrnn.curves on
the model and the corpus, and when the run ends and what it costs, from the train module's record of the
run (its train.lua command, its dataset, when it started, whether early stopping is on)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import curves as _curves
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import flags as _flags
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths


def corpus_chars(state):
    """The size of the run's input.txt, or None when the record or the file does not say."""
    if not state.get('data_dir') or not state.get('chdir'):
        return None
    try:
        return os.path.getsize(os.path.join(_paths.resolve(state['data_dir'], state['chdir']), 'input.txt'))
    except OSError:
        return None


def elapsed_seconds(state, running, log_path, clock=time.time):
    """The run's wall time: from its start (as recorded) to now while it trains, else to its log's last line."""
    try:
        started = datetime.datetime.strptime(state['started_at'], '%Y-%m-%dT%H:%M:%S%z').timestamp()
    except (KeyError, TypeError, ValueError):
        return None
    try:
        end = clock() if running else os.path.getmtime(log_path)
    except OSError:
        return None
    return max(0.0, end - started)


def outlook(obs, hourly_price=None, clock=time.time):
    """{advice: [{key, message, numbers}], eta: {eta_seconds, may_end_sooner, cost_so_far, cost_to_end, message}}
    for a Trainer.look() observation."""
    state, training = obs['state'], obs['training']
    if not training['log_exists']:
        return {'advice': [], 'eta': None}
    flags = _flags.argv_flags(state.get('command'))
    advice = _curves.advise(obs['log_lines'], flags, corpus_chars(state), head=obs.get('log_head'))
    # a run that no longer runs has a status that says how it ended (_trainer.status_of)
    ended = None if training['running'] else training['status']
    eta = _curves.eta_and_cost(training, elapsed_seconds(state, training['running'], training['log_path'], clock),
                               hourly_price, early_stopping=bool(state.get('early_stopping')), ended=ended)
    return {'advice': advice, 'eta': eta}
