# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""What the train module would run char-rnn's trainer with on this host, for the benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '.collections'))
# pylint: disable=wrong-import-position
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import blas as _blas  # noqa: E402
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads  # noqa: E402


def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def core_override(th, environ=None):
    """The OpenBLAS core the train module would force for this th here (None: OpenBLAS's own choice)."""
    if not th:
        return None
    return _blas.core_override(th, _run, shutil.which('ldd'), environ=environ)


def thread_env(th, threads=None, omp_threads=None, environ=None):
    """The train module's thread settings, with the OpenBLAS core it would force for this th."""
    return _threads.thread_env(threads, omp_threads, core=core_override(th, environ=environ))
