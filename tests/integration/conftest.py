# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Fixtures of the integration tests (helpers in charrnn_it_helpers.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import SCREEN, Runner, ansible_playbook, collections_root, kill_trainers, screen_sessions  # noqa: E402

sys.path.insert(0, collections_root())
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths  # noqa: E402


@pytest.fixture
def play(tmp_path, request):
    if SCREEN is None:
        pytest.skip('GNU screen is not installed')
    if not ansible_playbook():
        pytest.skip('ansible-playbook not found')
    name = ''.join(c if c.isalnum() else '-' for c in request.node.name)[:30]
    prefix = 'it-%s-%d-' % (name, os.getpid())
    runner = Runner(tmp_path, prefix)
    yield runner
    # clean up every session of this test and whatever still runs in it
    for sid in screen_sessions(prefix):
        subprocess.run([SCREEN, '-S', sid, '-X', 'quit'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
    kill_trainers(tmp_path / 'charrnn')
    time.sleep(0.1)
    for lock in glob.glob(_paths.lock_path(prefix + '*')):
        os.unlink(lock)
    subprocess.run([SCREEN, '-wipe'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


@pytest.fixture
def charrnn_dir(tmp_path):
    """A fake char-rnn checkout at <tmp>/charrnn: train.lua, sample.lua, data/tiny/input.txt (20000 bytes)."""
    d = tmp_path / 'charrnn'
    d.mkdir()
    (d / 'train.lua').write_text('-- placeholder for char-rnn train.lua (tests)\n')
    (d / 'sample.lua').write_text('-- placeholder for char-rnn sample.lua (tests)\n')
    data = d / 'data' / 'tiny'
    data.mkdir(parents=True)
    text = ('First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n') * 400
    (data / 'input.txt').write_text(text[:20000])
    return d
