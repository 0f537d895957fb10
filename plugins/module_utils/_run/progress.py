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


# What a timed-out wait advises when its caller names nothing else (see timeout_message).
DEFAULT_TIMEOUT_HINT = 'Raise timeout, or lower eval_val_every in the training options.'


def awaited(wait, savefile, newer_than=None):
    """What a wait for a checkpoint waits for, the same in the module's and the controller's messages."""
    if wait == 'first':
        return 'the first checkpoint of savefile %s' % savefile
    return 'a checkpoint of savefile %s newer than %s' % (savefile, newer_than or '(none yet)')


def timeout_message(what, seconds, training, session, hint=None):
    """The one message of a wait that timed out, whether the module or the controller waited: what it waited
    for, where training stands, that training goes on, and what to change; hint names that in the caller's
    own terms (a role's variables)."""
    return ('Timed out after %ds waiting for %s; progress: %s (status %s). Training goes on in screen session %s; '
            'its log is %s. %s' % (int(round(seconds)), what, progress_text(training), training.get('status') or '-',
                                   session, training.get('log_path') or '-', hint or DEFAULT_TIMEOUT_HINT))
