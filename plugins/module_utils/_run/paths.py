# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Where a training run's files are: paths resolved against the checkout, the default log
and the files the train module keeps next to it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pwd
import tempfile

DEFAULT_CHDIR = '/opt/rnn-karpathy'
DEFAULT_CHECKPOINT_DIR = 'cv'


def resolve(path, base):
    """Return path made absolute against base (when relative), normalised."""
    path = os.path.expanduser(path)
    if not os.path.isabs(path):
        path = os.path.join(base, path)
    return os.path.normpath(path)


def default_log_path(checkpoint_dir_abs, session):
    """The default log of a training run: <checkpoint_dir>/train-<session>.log.

    Shared by the train and checkpoint modules (and sample) so that they find
    the same log without being told.
    """
    return os.path.join(checkpoint_dir_abs, 'train-%s.log' % session)


def state_path(log_path):
    """JSON state file that the train module keeps next to the log."""
    return log_path + '.state.json'


def pid_path(log_path):
    """File in which the wrapper shell writes the trainer's pid before exec."""
    return log_path + '.pid'


def lock_path(session, uid=None):
    """Per-user, per-session lock file guarding check-and-start.

    In the user's own home, found by uid so that it is the same whatever HOME or TMPDIR a task has:
    in /tmp any local user could create it first and block every start. /tmp (or the temporary
    directory) only for a user without a writable home.
    """
    if uid is None:
        uid = os.getuid()
    try:
        home = pwd.getpwuid(uid).pw_dir
    except KeyError:
        home = None
    if home and os.path.isdir(home) and os.access(home, os.W_OK):
        base = os.path.join(home, '.cache', 'rnn_bootstrap.charrnn')
    else:
        base = '/tmp' if os.path.isdir('/tmp') else tempfile.gettempdir()
    return os.path.join(base, 'charrnn-%d-%s.lock' % (uid, session))
