# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Where every kind of test finds this checkout: its root, the stand-in th, and the collection's import root."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAND_IN_TH = os.path.join(REPO, 'tests', 'stand_in_trainer', 'th')


def collections_root():
    """Where ansible_collections/rnn_bootstrap/charrnn is this checkout: the layout it already sits in
    (ansible-test), else the .collections/ link the repository carries (see ansible.cfg)."""
    parts = REPO.split(os.sep)
    if parts[-3:] == ['ansible_collections', 'rnn_bootstrap', 'charrnn']:
        return os.sep.join(parts[:-3]) or os.sep
    return os.path.join(REPO, '.collections')
