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


def _number(fmt, value):
    return fmt % value if isinstance(value, (int, float)) and not isinstance(value, bool) else '-'


def waiting_line(host, awaited, seconds, since, training):
    """The line the controller prints while it waits: which host waits for what, for how long, and
    where training stands (a dash for what the log does not tell yet)."""
    return ('%s: waiting for %s, %ds since %s; iteration %s/%s, epoch %s, train_loss %s, %s s/batch, ETA %ss'
            % (host, awaited, int(seconds), since,
               '-' if training.get('iteration') is None else training['iteration'],
               '-' if training.get('iterations') is None else training['iterations'],
               _number('%.2f', training.get('epoch')),
               _number('%.4f', training.get('train_loss')),
               _number('%.3f', training.get('median_time_per_batch')),
               _number('%d', training.get('eta_seconds'))))
