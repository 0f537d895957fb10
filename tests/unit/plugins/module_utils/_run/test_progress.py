# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import progress as _progress


def test_progress_text():
    assert _progress.progress_text({'iteration': None, 'status': 'starting'}) == \
        'iteration -/-, epoch -, train_loss -, - s/batch, ETA -s'
    text = _progress.progress_text({'iteration': 5, 'iterations': 10, 'epoch': 0.5, 'train_loss': 1.25,
                                   'median_time_per_batch': 0.1, 'eta_seconds': 0.5, 'status': 'training'})
    assert text == 'iteration 5/10, epoch 0.50, train_loss 1.2500, 0.100 s/batch, ETA 0s'


def test_waiting_line():
    line = _progress.waiting_line('box1', 'the first checkpoint of savefile lstm', 61.9, 'training started',
                                  {'iteration': 80, 'iterations': 3800, 'epoch': 0.2105, 'train_loss': 2.83456,
                                   'median_time_per_batch': 0.1234, 'eta_seconds': 461.9, 'status': 'training'})
    assert line == ('box1: waiting for the first checkpoint of savefile lstm, 61s since training started; '
                    'iteration 80/3800, epoch 0.21, train_loss 2.8346, 0.123 s/batch, ETA 461s')


def test_waiting_line_before_the_first_iteration():
    line = _progress.waiting_line('box1', 'the first checkpoint of savefile lstm', 3, 'training started',
                                  {'iteration': None, 'train_loss': None, 'status': 'starting'})
    assert line.endswith('3s since training started; iteration -/-, epoch -, train_loss -, - s/batch, ETA -s')
