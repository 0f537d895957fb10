# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Finding Torch7's th executable."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

TORCH_BIN_DIRS = ['/opt/torch/bin', '/opt/torch/install/bin']


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
