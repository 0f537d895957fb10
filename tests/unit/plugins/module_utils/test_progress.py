# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _progress


def test_progress_text():
    assert 'no iteration logged yet' in _progress.progress_text({'iteration': None, 'status': 'starting'})
    text = _progress.progress_text({'iteration': 5, 'iterations': 10, 'epoch': 0.5, 'train_loss': 1.25,
                                   'median_time_per_batch': 0.1, 'eta_seconds': 0.5, 'status': 'training'})
    assert text == 'iteration 5/10, epoch 0.500, train_loss 1.2500, 0.100s/batch, ETA 0s, status training'
