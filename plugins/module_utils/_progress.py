# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The progress line of a training run, as the modules and the controller print it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def progress_text(training):
    """A short human description of the training progress."""
    if training.get('iteration') is None:
        return 'no iteration logged yet (status %s)' % training.get('status')
    parts = ['iteration %s/%s' % (training['iteration'], training['iterations'])]
    if training.get('epoch') is not None:
        parts.append('epoch %.3f' % training['epoch'])
    if training.get('train_loss') is not None:
        parts.append('train_loss %.4f' % training['train_loss'])
    if training.get('median_time_per_batch') is not None:
        parts.append('%.3fs/batch' % training['median_time_per_batch'])
    if training.get('eta_seconds') is not None:
        parts.append('ETA %ds' % int(training['eta_seconds']))
    parts.append('status %s' % training.get('status'))
    return ', '.join(parts)
