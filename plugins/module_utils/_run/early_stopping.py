# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The early-stopping watcher: it runs beside the trainer in its screen session (see _wrapper), reads the
run's log as it grows and, each time train.lua has validated and gone on, asks _curves.early_stop whether
the validations have run out of patience. When they have, it logs why and which checkpoint is best
(EARLY_STOP_RE in _charrnn.log, which the modules read back) and sends the trainer SIGTERM once: the
prelude saves the iteration under way and exits 0, and the run counts as finished.

It needs _charrnn's log parser, so it runs from the module_utils the train module installs for the
systemd unit (see _supervision.install_code), with the Python the train module runs on:

    python -c WATCHER_CODE <code dir> <log> <pid file> <patience> <min_delta> <eval_val_every> <look seconds>

A watcher must never end a run by a fault of its own: an error is logged once and the watcher goes on.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import curves as _curves
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log

# A look reads only what the log gained, and parses the log only after a checkpoint was announced: looking
# every second costs nothing and stops the run at the validation where patience ran out, even when
# validations come seconds apart (a small corpus, a small eval_val_every).
LOOK_SECONDS = 1

WATCHER_CODE = ('import sys; sys.path.insert(0, sys.argv[1]); '
                'from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import early_stopping; '
                'sys.exit(early_stopping.main(sys.argv[2:]))')


def check(patience, min_delta):
    """Why these early-stopping options cannot be used, or None."""
    if patience < 0:
        return 'patience must be 0 (no early stopping) or a number of validations, got %d' % patience
    if min_delta < 0:
        return 'min_delta must be 0 or more (an improvement of validation loss), got %s' % min_delta
    if min_delta and not patience:
        return 'min_delta needs patience: set patience to the number of validations without an improvement ' \
               'of more than min_delta after which training stops'
    return None


def watcher_argv(python, code_dir, log_path, pid_file, patience, min_delta, eval_val_every, look=LOOK_SECONDS):
    """The command that watches the run's validations and ends it when they run out of patience, or None
    when early stopping is off (patience 0)."""
    if not patience:
        return None
    return [python, '-c', WATCHER_CODE, code_dir, log_path, pid_file, str(int(patience)), repr(float(min_delta)),
            str(int(eval_val_every)), str(look)]


def earlier_stop(lines):
    """The iteration of the last early stop logged before the current run, or 0."""
    at = 0
    for line in lines[:len(lines) - len(_log.split_runs(lines)[0])]:
        if _log.EARLY_STOP_PREFIX in line:
            info = _log.parse_line(line)
            if info['kind'] == 'early_stop':
                at = info['iteration']
    return at


def decide(lines, patience, min_delta, eval_val_every):
    """The decision after the current run's latest validation, over the whole log of the run's chain (the
    runs it resumes count on): None while train.lua is still saving that validation's checkpoint, else
    _curves.early_stop's result (with `line`, what to log, when it says stop). It never says stop before
    a validation of this run, nor for a run that a signal or an earlier decision is stopping already."""
    run, dummy = _log.split_runs(lines)
    summary = _log.summarize(run)
    history = _log.validations(lines)
    if summary['early_stop'] or summary['stopped_on'] or summary['iteration'] is None or not history \
            or history[-1]['iteration'] <= summary['iterations_before'] or history[-1]['requested_by']:
        return {'stop': False}
    latest = history[-1]
    if not summary['saves'].get(latest['path']):
        return None
    decision = _curves.early_stop(history, patience, min_delta, eval_val_every,
                                  summary['iterations'] - summary['iterations_before'], earlier_stop(lines))
    if decision['best'] is None:
        decision['stop'] = False
    if decision['stop']:
        reason = decision['reason'][len('stop: '):] if decision['reason'].startswith('stop: ') else decision['reason']
        decision['line'] = '%s %d, best checkpoint %s: %s' % (_log.EARLY_STOP_PREFIX, latest['iteration'],
                                                              decision['best']['path'], reason)
    return decision


class LogFollower:
    """The complete lines of a log that grows, read from its start and then as they come."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b''
        self.lines = []

    def read(self):
        """Reads what was appended; returns the new complete lines."""
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.offset)
                data = f.read()
        except (IOError, OSError):
            return []
        self.offset += len(data)
        parts = (self.partial + data).split(b'\n')
        self.partial = parts.pop()
        new = [_log.clean_line(p.decode('utf-8', 'replace')) for p in parts]
        self.lines.extend(new)
        return new


def append_line(log_path, text):
    with open(log_path, 'a') as f:
        f.write(text + '\n')


def stop_trainer(pid_file, log_path, line):
    """Logs the decision, then sends the trainer SIGTERM (once)."""
    append_line(log_path, line)
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGTERM)
    except (IOError, OSError, ValueError) as e:
        append_line(log_path, '[charrnn] early stopping: cannot stop the trainer (%s)' % e)


def main(argv, sleeper=time.sleep):
    log_path, pid_file, patience, min_delta, eval_val_every, look = argv[:6]
    patience, min_delta, eval_val_every, look = int(patience), float(min_delta), int(eval_val_every), float(look)
    follower = LogFollower(log_path)
    pending = False
    failed = False
    while True:
        new = follower.read()
        pending = pending or any(line.startswith('saving checkpoint to ') for line in new)
        if pending and new:
            try:
                decision = decide(follower.lines, patience, min_delta, eval_val_every)
                failed = False
            except Exception as e:  # pylint: disable=broad-except
                decision = None
                if not failed:
                    append_line(log_path, '[charrnn] early stopping: cannot read the validations (%s: %s); '
                                          'training goes on' % (type(e).__name__, e))
                failed = True
            if decision is not None:
                pending = False
                if decision['stop']:
                    stop_trainer(pid_file, log_path, decision['line'])
                    return 0
        sleeper(look)
