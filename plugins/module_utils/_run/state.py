# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The train module's record of a run: its JSON state file and the trainer's pid file."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths


def read_state(log_path):
    """Read the train module's state file; {} when missing or unreadable."""
    try:
        with open(_paths.state_path(log_path), 'r') as f:
            data = json.load(f)
        if isinstance(data, dict):
            return data
    except (IOError, OSError, ValueError):
        pass
    return {}


def write_state(log_path, data):
    """Write the state file atomically (rename over the old one)."""
    path = _paths.state_path(log_path)
    tmp = '%s.%d.tmp' % (path, os.getpid())
    with _files.create_new(tmp, text=True) as f:
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
