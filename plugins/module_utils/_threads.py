# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The thread settings of char-rnn's trainer and sampler."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os


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
    OpenBLAS's (benchmarks/README.md has the sweep).
    """
    return {
        'OMP_NUM_THREADS': str(int(omp_threads or 1)),
        'OPENBLAS_NUM_THREADS': str(int(blas_threads or cpu_count())),
        'OMP_WAIT_POLICY': 'PASSIVE',
    }
