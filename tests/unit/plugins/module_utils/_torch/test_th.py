# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import th as _th


def test_find_th(tmp_path):
    th = tmp_path / 'th'
    th.write_text('#!/bin/sh\n')
    path, err = _th.find_th(str(th))
    assert path is None and 'not executable' in err
    th.chmod(0o755)
    assert _th.find_th(str(th)) == (str(th), None)
    path, err = _th.find_th(str(tmp_path / 'nope'))
    assert path is None and 'does not exist' in err
    path, err = _th.find_th(str(tmp_path))
    assert 'is a directory' in err
    assert _th.find_th(None, path_env=str(tmp_path)) == (str(th), None)
    empty = tmp_path / 'empty'
    empty.mkdir()
    if not any(os.path.exists(os.path.join(d, 'th')) for d in _th.TORCH_BIN_DIRS):
        path, err = _th.find_th(None, path_env=str(empty))
        assert path is None and '/opt/torch/bin' in err
