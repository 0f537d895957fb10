# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Shared helpers of the char-rnn modules: paths, state files, threads, th."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import json
import os
import re
import tempfile

DEFAULT_CHDIR = '/opt/rnn-karpathy'
DEFAULT_SESSION = 'charrnn'
DEFAULT_CHECKPOINT_DIR = 'cv'
TORCH_BIN_DIRS = ['/opt/torch/bin', '/opt/torch/install/bin']

# The marker the train module writes into the log before each run, so that the
# parsers can tell the current run from earlier ones appended to the same log.
RUN_MARKER = '[charrnn] run started'
# ... and the wrapper shell's last line when the trainer has exited.
RUN_END_PREFIX = '[charrnn] run ended: exit status'

SESSION_RE = re.compile(r'^[A-Za-z0-9_+-][A-Za-z0-9_+-]{0,79}$')


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

    /tmp when it exists (the same place whatever TMPDIR a task has), else
    the temporary directory.
    """
    if uid is None:
        uid = os.getuid()
    base = '/tmp' if os.path.isdir('/tmp') else tempfile.gettempdir()
    return os.path.join(base, 'charrnn-%d-%s.lock' % (uid, session))


def check_session_name(session):
    """Return an error message for an unusable screen session name, else None."""
    if not isinstance(session, str) or not SESSION_RE.match(session):
        return ("session %r is not a usable screen session name: use 1-80 letters, digits, "
                "'_', '+' or '-' (no dots, spaces or slashes)" % (session,))
    return None


def read_state(log_path):
    """Read the train module's state file; {} when missing or unreadable."""
    try:
        with open(state_path(log_path), 'r') as f:
            data = json.load(f)
        if isinstance(data, dict):
            return data
    except (IOError, OSError, ValueError):
        pass
    return {}


def write_state(log_path, data):
    """Write the state file atomically (rename over the old one)."""
    path = state_path(log_path)
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write('\n')
    os.rename(tmp, path)


def read_pid_file(path):
    try:
        with open(path, 'r') as f:
            text = f.read().strip()
    except (IOError, OSError):
        return None
    if text.isdigit():
        return int(text)
    return None


def cpu_count():
    """CPUs this process may run on (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_env(blas_threads=None, omp_threads=None):
    """Thread settings of char-rnn's trainer and sampler on this host.

    The matrix products, nearly all of the work, go to OpenBLAS: it gets
    every CPU the task may run on unless told otherwise. Torch's OpenMP
    loops only split tensors far larger than char-rnn's, so OpenMP gets one
    thread, and waits passively: its spinning pool otherwise competes with
    OpenBLAS's (measured on the default model, 2 CPUs: 0.66 s/batch with both
    at 2 threads and active waiting; see benchmarks/README.md for the sweep).
    """
    return {
        'OMP_NUM_THREADS': str(int(omp_threads or 1)),
        'OPENBLAS_NUM_THREADS': str(int(blas_threads or cpu_count())),
        'OMP_WAIT_POLICY': 'PASSIVE',
    }


def is_executable_file(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_th(th, path_env=None):
    """Locate the th executable.

    Returns (path, error).  An explicit th must exist and be executable; else
    PATH is searched, then the Torch prefixes /opt/torch/bin and
    /opt/torch/install/bin.
    """
    if th:
        th = os.path.expanduser(th)
        if not os.path.exists(th):
            return None, "th executable %s does not exist: install Torch7 or set 'th' to its th" % th
        if os.path.isdir(th):
            return None, "th %s is a directory: set 'th' to the th executable (e.g. /opt/torch/bin/th)" % th
        if not os.access(th, os.X_OK):
            return None, "th %s is not executable: chmod +x it or set 'th' to the right file" % th
        return os.path.abspath(th), None
    if path_env is None:
        path_env = os.environ.get('PATH', '')
    dirs = [d for d in path_env.split(os.pathsep) if d] + TORCH_BIN_DIRS
    for d in dirs:
        cand = os.path.join(d, 'th')
        if is_executable_file(cand):
            return cand, None
    return None, ("th (Torch7) not found on PATH nor in %s: install Torch7 (roles of this collection) "
                  "or set 'th' to the th executable" % ', '.join(TORCH_BIN_DIRS))


def nearest_existing_dir(path):
    """Nearest existing ancestor directory of path (path itself if it exists)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def dir_writable_error(path, what):
    """Message when directory `path` cannot be created or written, else None."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            return "%s %s exists but is not a directory: remove it or choose another path" % (what, path)
        if not os.access(path, os.W_OK | os.X_OK):
            return ("%s %s is not writable by this user (uid %d): fix its ownership/permissions "
                    "or choose another directory" % (what, path, os.getuid()))
        return None
    anc = nearest_existing_dir(path)
    if not os.path.isdir(anc):
        return "%s %s cannot be created: %s is not a directory" % (what, path, anc)
    if not os.access(anc, os.W_OK | os.X_OK):
        return ("%s %s does not exist and cannot be created: %s is not writable by this user "
                "(uid %d)" % (what, path, anc, os.getuid()))
    return None


def makedirs(path):
    try:
        os.makedirs(path)
    except OSError as e:
        if e.errno != errno.EEXIST or not os.path.isdir(path):
            raise
