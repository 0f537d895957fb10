# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _files


def test_dir_writable_error(tmp_path, monkeypatch):
    assert _files.dir_writable_error(str(tmp_path / 'new' / 'deeper'), 'checkpoint_dir') is None
    f = tmp_path / 'file'
    f.write_text('x')
    assert 'is not a directory' in _files.dir_writable_error(str(f), 'checkpoint_dir')
    assert 'cannot be created' in _files.dir_writable_error(str(f / 'sub'), 'checkpoint_dir')
    monkeypatch.setattr(os, 'access', lambda p, m: False)
    assert 'is not writable' in _files.dir_writable_error(str(tmp_path), 'checkpoint_dir')
    assert 'cannot be created' in _files.dir_writable_error(str(tmp_path / 'new'), 'checkpoint_dir')
