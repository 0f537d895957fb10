# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The progress line of a training run, as the modules and the controller print it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def _number(fmt, value):
    return fmt % value if isinstance(value, (int, float)) and not isinstance(value, bool) else '-'


def progress_text(training):
    """Where training stands, the same in every message: a dash for what the log does not tell yet."""
    return ('iteration %s/%s, epoch %s, train_loss %s, %s s/batch, ETA %ss'
            % ('-' if training.get('iteration') is None else training['iteration'],
               '-' if training.get('iterations') is None else training['iterations'],
               _number('%.2f', training.get('epoch')),
               _number('%.4f', training.get('train_loss')),
               _number('%.3f', training.get('median_time_per_batch')),
               _number('%d', training.get('eta_seconds'))))


def waiting_line(host, awaited, seconds, since, training):
    """The line the controller prints while it waits: which host waits for what, for how long, and
    where training stands."""
    return '%s: waiting for %s, %ds since %s; %s' % (host, awaited, int(seconds), since, progress_text(training))
