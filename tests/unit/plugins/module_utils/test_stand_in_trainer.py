# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The stand-in trainer agrees with the collection on char-rnn's batch split, and
fails the way th does; so the module tests that use it mean something."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import subprocess

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import trainlog
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import trainopts


def run_train(charrnn_dir, th, nbytes, *flags, **env_extra):
    data = charrnn_dir / 'data' / 'sized'
    data.mkdir(parents=True, exist_ok=True)
    for name in ('vocab.t7', 'data.t7'):
        if (data / name).exists():
            (data / name).unlink()
    (data / 'input.txt').write_bytes((b'abcdefghij\n' * (nbytes // 11 + 1))[:nbytes])
    env = dict(os.environ, STANDIN_SLEEP='0', **env_extra)
    proc = subprocess.run([th, 'train.lua', '-data_dir', 'data/sized', '-gpuid', '-1'] + list(flags),
                          cwd=str(charrnn_dir), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.mark.parametrize('nbytes,bs,sl,tf,vf', [
    (5000, 50, 50, 0.95, 0.05), (7499, 50, 50, 0.95, 0.05), (2500, 10, 10, 0.9, 0.05),
    (999, 10, 10, 0.5, 0.3), (12345, 7, 13, 0.8, 0.1),
])
def test_split_agrees_with_module_utils(charrnn_dir, stand_in_th, nbytes, bs, sl, tf, vf):
    rc, out, err = run_train(charrnn_dir, stand_in_th, nbytes, '-batch_size', str(bs), '-seq_length', str(sl),
                             '-train_frac', str(tf), '-val_frac', str(vf), '-max_epochs', '0.001')
    assert rc == 0, err
    m = re.search(r'Number of data batches in train: (\d+), val: (\d+), test: (\d+)', out)
    dummy, ntrain, nval, ntest = trainopts.split_sizes(nbytes, bs, sl, tf, vf)
    assert tuple(int(x) for x in m.groups()) == (ntrain, nval, ntest)
    assert all(line.endswith('\t') for line in out.splitlines())  # th's print


def test_data_too_small_is_a_lua_error(charrnn_dir, stand_in_th):
    rc, out, err = run_train(charrnn_dir, stand_in_th, 2499)
    assert rc == 1
    assert err.startswith('/opt/torch/install/bin/luajit: ') and '\nstack traceback:\n' in err
    assert trainlog.parse_line(err.splitlines()[0])['kind'] == 'error'


def test_one_batch_trains_nothing_and_saves_nothing(charrnn_dir, stand_in_th):
    rc, out, err = run_train(charrnn_dir, stand_in_th, 2500)
    assert rc == 0 and 'train: 0, val: 1' in out
    s = trainlog.summarize(out.splitlines())
    assert s['iteration'] is None and s['last_checkpoint'] is None
    assert not (charrnn_dir / 'cv').exists() or os.listdir(str(charrnn_dir / 'cv')) == []


def test_nan_stops_with_exit_0(charrnn_dir, stand_in_th):
    rc, out, err = run_train(charrnn_dir, stand_in_th, 20000, '-batch_size', '10', '-seq_length', '50',
                             STANDIN_NAN_AT='3')
    assert rc == 0
    s = trainlog.summarize(out.splitlines())
    assert s['phase'] == 'nan' and s['iteration'] == 3 and s['train_loss'] is None
