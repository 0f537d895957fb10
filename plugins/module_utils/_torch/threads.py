# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The thread settings of char-rnn's trainer and sampler."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch.blas import CORETYPE_VARIABLE
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch.requested_checkpoints import SECONDS_VARIABLE

# Variables of a trainer's environment that say how it runs, not what it trains with: a run recorded
# without them, or with other values, is the same run.
NOT_SETTINGS = (CORETYPE_VARIABLE, SECONDS_VARIABLE)


def cpu_count():
    """CPUs this process may run on (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_env(blas_threads=None, omp_threads=None, core=None):
    """Thread settings of char-rnn's trainer and sampler on this host.

    The matrix products, nearly all of the work, go to OpenBLAS: it gets
    every CPU the task may run on unless told otherwise. Torch's OpenMP
    loops only split tensors far larger than char-rnn's, so OpenMP gets one
    thread, and waits passively: its spinning pool otherwise competes with
    OpenBLAS's (benchmarks/README.md has the sweep). core, when given, is
    the OpenBLAS core to run on (see _blas.core_override).
    """
    env = {
        'OMP_NUM_THREADS': str(int(omp_threads or 1)),
        'OPENBLAS_NUM_THREADS': str(int(blas_threads or cpu_count())),
        'OMP_WAIT_POLICY': 'PASSIVE',
    }
    if core:
        env[CORETYPE_VARIABLE] = core
    return env


def same_settings(env, other):
    """Whether two trainer environments (as a run recorded them) set the same threads.

    The OpenBLAS core is how OpenBLAS runs on this CPU, and the interval of
    the checkpoints asked for by time is how often the run is saved: neither
    is a setting of the run (NOT_SETTINGS).
    """
    def settings(e):
        if not isinstance(e, dict):  # none recorded
            return e
        return dict((k, v) for k, v in e.items() if k not in NOT_SETTINGS)
    return settings(env) == settings(other)
