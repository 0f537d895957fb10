# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import dataset as _dataset
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.flags import OptionError


@pytest.mark.parametrize('nbytes,bs,sl,tf,vf,expected', [
    # defaults 50x50 = 2500 chars/batch; 0.95 + 0.05 == 1.0 so test_frac == 0
    (2499, 50, 50, 0.95, 0.05, (0, 0, 0, 0)),
    (2500, 50, 50, 0.95, 0.05, (1, 0, 1, 0)),     # one batch: floor(0.95) = 0 training batches
    (4999, 50, 50, 0.95, 0.05, (1, 0, 1, 0)),
    (5000, 50, 50, 0.95, 0.05, (2, 1, 1, 0)),     # the smallest usable default input
    (1115394, 50, 50, 0.95, 0.05, (446, 423, 23, 0)),  # tinyshakespeare
    # 0.9 + 0.05 < 1: a test split exists and nval = floor(nbatches * 0.05)
    (19 * 2500, 50, 50, 0.9, 0.05, (19, 17, 0, 2)),
    (20 * 2500, 50, 50, 0.9, 0.05, (20, 18, 1, 1)),
    # train + val > 1: test_frac = max(0, ...) = 0
    (10 * 100, 10, 10, 0.9, 0.3, (10, 9, 1, 0)),
    (1000, 10, 10, 1.0, 0.0, (10, 10, 0, 0)),
])
def test_split_sizes(nbytes, bs, sl, tf, vf, expected):
    assert _dataset.split_sizes(nbytes, bs, sl, tf, vf) == expected


@pytest.mark.parametrize('bs,sl,tf,vf,expected', [
    (50, 50, 0.95, 0.05, 5000),
    (10, 10, 0.95, 0.05, 200),
    (50, 50, 0.9, 0.05, 20 * 2500),
    (10, 10, 1.0, 0.0, 100),
])
def test_minimum_bytes(bs, sl, tf, vf, expected):
    need = _dataset.minimum_bytes(bs, sl, tf, vf)
    assert need == expected
    # one byte less is not enough
    nb, ntrain, nval, dummy = _dataset.split_sizes(need - 1, bs, sl, tf, vf)
    assert ntrain < 1 or (vf > 0 and nval < 1)


def _data(tmp_path, nbytes):
    d = tmp_path / 'data'
    d.mkdir(exist_ok=True)
    (d / 'input.txt').write_bytes(b'a' * nbytes)
    return str(d)


def test_check_dataset_boundary(tmp_path):
    d = _data(tmp_path, 5000)
    info, warnings = _dataset.check_dataset(d, {})
    assert info['train_batches'] == 1 and info['val_batches'] == 1
    assert any('only 2 batches' in w for w in warnings)
    d = _data(tmp_path, 4999)
    with pytest.raises(OptionError) as e:
        _dataset.check_dataset(d, {})
    assert '0 training batches' in str(e.value) and 'at least 5000 bytes' in str(e.value)
    d = _data(tmp_path, 2499)
    with pytest.raises(OptionError) as e:
        _dataset.check_dataset(d, {})
    assert 'too small for one training batch' in str(e.value)


def test_check_dataset_counts_bytes_not_characters(tmp_path):
    d = tmp_path / 'data'
    d.mkdir()
    (d / 'input.txt').write_text(u'\u00e9' * 100, encoding='utf-8')  # 100 characters, 200 bytes
    info, dummy = _dataset.check_dataset(str(d), {'batch_size': 10, 'seq_length': 10})
    assert info['input_bytes'] == 200 and info['batches'] == 2


def test_check_dataset_no_validation_batch(tmp_path):
    d = _data(tmp_path, 19 * 2500)
    with pytest.raises(OptionError) as e:
        _dataset.check_dataset(d, {'train_frac': 0.9})
    assert '0 for validation' in str(e.value)
    d = _data(tmp_path, 1000)
    info, warnings = _dataset.check_dataset(d, {'batch_size': 10, 'seq_length': 10, 'train_frac': 1.0,
                                                'val_frac': 0.0})
    assert info['val_batches'] == 0
    assert any('nan' in w for w in warnings)


def test_check_dataset_problems(tmp_path, monkeypatch):
    with pytest.raises(OptionError, match='does not exist'):
        _dataset.check_dataset(str(tmp_path / 'nope'), {})
    (tmp_path / 'file').write_text('x')
    with pytest.raises(OptionError, match='is not a directory'):
        _dataset.check_dataset(str(tmp_path / 'file'), {})
    d = tmp_path / 'd'
    d.mkdir()
    with pytest.raises(OptionError, match='input.txt is missing'):
        _dataset.check_dataset(str(d), {})
    (d / 'input.txt').mkdir()
    with pytest.raises(OptionError, match='is a directory, not a file'):
        _dataset.check_dataset(str(d), {})
    (d / 'input.txt').rmdir()
    (d / 'input.txt').write_text('')
    with pytest.raises(OptionError, match='is empty'):
        _dataset.check_dataset(str(d), {})
    (d / 'input.txt').write_text('x' * 6000)
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda p, m: False if str(p).endswith('input.txt') else real_access(p, m))
    with pytest.raises(OptionError, match='not readable'):
        _dataset.check_dataset(str(d), {})
    monkeypatch.setattr(os, 'access', lambda p, m: False if str(p) == str(d) else real_access(p, m))
    with pytest.raises(OptionError, match='vocab.t7 and data.t7'):
        _dataset.check_dataset(str(d), {})
    monkeypatch.setattr(os, 'access', real_access)
    (d / 'vocab.t7').write_text('v')
    with pytest.raises(OptionError, match='has vocab.t7 but not data.t7'):
        _dataset.check_dataset(str(d), {})
