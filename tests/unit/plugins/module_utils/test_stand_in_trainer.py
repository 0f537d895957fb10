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

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import dataset as _dataset
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import lua_sources as _lua_sources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import probe as _probe
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log


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
    dummy, ntrain, nval, ntest = _dataset.split_sizes(nbytes, bs, sl, tf, vf)
    assert tuple(int(x) for x in m.groups()) == (ntrain, nval, ntest)
    assert all(line.endswith('\t') for line in out.splitlines())  # th's print


def test_data_too_small_is_a_lua_error(charrnn_dir, stand_in_th):
    rc, out, err = run_train(charrnn_dir, stand_in_th, 2499)
    assert rc == 1
    assert err.startswith('/opt/torch/install/bin/luajit: ') and '\nstack traceback:\n' in err
    assert _log.parse_line(err.splitlines()[0])['kind'] == 'error'


def test_one_batch_trains_nothing_and_saves_nothing(charrnn_dir, stand_in_th):
    rc, out, err = run_train(charrnn_dir, stand_in_th, 2500)
    assert rc == 0 and 'train: 0, val: 1' in out
    s = _log.summarize(out.splitlines())
    assert s['iteration'] is None and s['last_checkpoint'] is None
    assert not (charrnn_dir / 'cv').exists() or os.listdir(str(charrnn_dir / 'cv')) == []


def test_nan_stops_with_exit_0(charrnn_dir, stand_in_th):
    rc, out, err = run_train(charrnn_dir, stand_in_th, 20000, '-batch_size', '10', '-seq_length', '50',
                             STANDIN_NAN_AT='3')
    assert rc == 0
    s = _log.summarize(out.splitlines())
    assert s['phase'] == 'nan' and s['iteration'] == 3 and s['train_loss'] is None


def _prelude(charrnn_dir):
    from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision
    path = charrnn_dir / 'cv' / 'train-x.log.prelude.lua'
    path.parent.mkdir(exist_ok=True)
    _precision.install_prelude(str(path))
    return str(path)


def _standin(charrnn_dir, th, *args):
    proc = subprocess.run([th] + list(args), cwd=str(charrnn_dir), env=dict(os.environ, STANDIN_SLEEP='0'),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_the_prelude_is_followed_like_the_real_one(charrnn_dir, stand_in_th):
    prelude = _prelude(charrnn_dir)
    flags = ['-data_dir', 'data/tiny', '-gpuid', '-1', '-batch_size', '10', '-max_epochs', '0.3',
             '-eval_val_every', '10']
    rc, out, err = _standin(charrnn_dir, stand_in_th, prelude, 'float', 'train.lua', *flags)
    assert rc == 0, err
    assert out.splitlines()[0] == ('[charrnn] precision float: train.lua computes in torch.FloatTensor; '
                                   'checkpoints are saved in torch.DoubleTensor\t')
    ckpts = sorted((charrnn_dir / 'cv').glob('lm_lstm_epoch*.t7'))
    assert ckpts and all(b'"tensor_type": "torch.DoubleTensor"' in c.read_bytes() for c in ckpts)
    # char-rnn's own train.lua and sample.lua read them
    rc, out, err = _standin(charrnn_dir, stand_in_th, 'sample.lua', str(ckpts[-1]), '-gpuid', '-1', '-length', '5')
    assert rc == 0, err
    rc, out, err = _standin(charrnn_dir, stand_in_th, 'train.lua', *(flags + ['-init_from', str(ckpts[-1])]))
    assert rc == 0 and 'converted' not in out, err
    rc, out, err = _standin(charrnn_dir, stand_in_th, prelude, 'float', 'train.lua',
                            *(flags + ['-init_from', str(ckpts[-1])]))
    assert rc == 0, err
    assert '[charrnn] %s: rnn converted from torch.DoubleTensor to torch.FloatTensor\t' % ckpts[-1] in out.splitlines()


def test_float_checkpoints_break_char_rnn_as_they_would_for_real(charrnn_dir, stand_in_th):
    """Were a float model saved as it is, sample.lua and a double train.lua would fail on it."""
    rc, out, err = run_train(charrnn_dir, stand_in_th, 20000, '-batch_size', '10', '-max_epochs', '0.1',
                             '-eval_val_every', '10')
    assert rc == 0, err
    ckpt = sorted((charrnn_dir / 'cv').glob('lm_lstm_epoch*.t7'))[-1]
    ckpt.write_bytes(ckpt.read_bytes().replace(b'"torch.DoubleTensor"', b'"torch.FloatTensor"'))
    rc, out, err = _standin(charrnn_dir, stand_in_th, 'sample.lua', str(ckpt), '-gpuid', '-1')
    assert rc == 1 and 'torch.FloatTensor expected, got torch.DoubleTensor' in err
    rc, out, err = _standin(charrnn_dir, stand_in_th, 'train.lua', '-data_dir', 'data/sized', '-gpuid', '-1',
                            '-init_from', str(ckpt))
    assert rc == 1 and 'torch.FloatTensor expected, got torch.DoubleTensor' in err


@pytest.mark.parametrize('args', [['half', 'train.lua'], ['float'], []])
def test_prelude_usage_errors(charrnn_dir, stand_in_th, args):
    prelude = _prelude(charrnn_dir)
    rc, out, err = _standin(charrnn_dir, stand_in_th, prelude, *args)
    assert rc == 1 and 'usage: th <this file> float|double train.lua' in err
    assert _log.parse_line(err.splitlines()[0])['kind'] == 'error'


def _checkpoint_of(charrnn_dir, th, corpus, *flags):
    """Train the stand-in briefly on corpus in data/<name>; returns the last checkpoint's path."""
    data = charrnn_dir / 'data' / ('c%d' % len(list((charrnn_dir / 'data').glob('c*'))))
    data.mkdir(parents=True)
    (data / 'input.txt').write_bytes(corpus)
    cv = charrnn_dir / ('cv-' + data.name)
    proc = subprocess.run([th, 'train.lua', '-data_dir', str(data), '-checkpoint_dir', str(cv), '-gpuid', '-1',
                           '-batch_size', '10', '-seq_length', '10', '-max_epochs', '1', '-eval_val_every', '5']
                          + list(flags), cwd=str(charrnn_dir), env=dict(os.environ, STANDIN_SLEEP='0'),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    assert proc.returncode == 0
    return data, sorted(str(p) for p in cv.glob('lm_*.t7'))[-1]


def test_init_from_another_vocabulary_is_train_lua_s_assert(charrnn_dir, stand_in_th):
    dummy, ckpt = _checkpoint_of(charrnn_dir, stand_in_th, b'abcdefghij\n' * 300)
    other, dummy = _checkpoint_of(charrnn_dir, stand_in_th, b'ABCDEFGHIJ\n' * 300)
    proc = subprocess.run([stand_in_th, 'train.lua', '-data_dir', str(other), '-gpuid', '-1', '-batch_size', '10',
                           '-seq_length', '10', '-init_from', ckpt], cwd=str(charrnn_dir),
                          env=dict(os.environ, STANDIN_SLEEP='0'), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith('/opt/torch/install/bin/luajit: train.lua:137: error, the character vocabulary for this '
                          'dataset and the one in the saved checkpoint are not the same. This is trouble.\n')
    assert 'loading a model from checkpoint ' + ckpt in proc.stdout.decode()
    assert _log.summarize(proc.stdout.decode().splitlines() + err.splitlines())['phase'] == 'error'


def test_init_from_takes_the_checkpoint_s_model_and_says_so(charrnn_dir, stand_in_th):
    data, ckpt = _checkpoint_of(charrnn_dir, stand_in_th, b'abcdefghij\n' * 300, '-rnn_size', '64', '-model', 'gru')
    proc = subprocess.run([stand_in_th, 'train.lua', '-data_dir', str(data), '-gpuid', '-1', '-batch_size', '10',
                           '-seq_length', '10', '-max_epochs', '0.2', '-rnn_size', '256', '-init_from', ckpt],
                          cwd=str(charrnn_dir), env=dict(os.environ, STANDIN_SLEEP='0'), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True)
    out = proc.stdout.decode()
    assert 'overwriting rnn_size=64, num_layers=2, model=gru based on the checkpoint.\t\n' in out
    assert 'creating an' not in out


def test_probe_reports_the_checkpoint_model_and_the_dataset_vocabulary(charrnn_dir, stand_in_th, tmp_path):
    data, ckpt = _checkpoint_of(charrnn_dir, stand_in_th, b'abcdefghij\n' * 300, '-num_layers', '3')
    script = tmp_path / 'charrnn_probe.lua'
    script.write_text(_lua_sources.PROBE_LUA)
    env = dict(os.environ, CHARRNN_CHECKPOINT=ckpt, CHARRNN_VOCAB=str(data / 'vocab.t7'))
    out = subprocess.run([stand_in_th, str(script)], cwd=str(charrnn_dir), env=env, stdout=subprocess.PIPE,
                         check=True).stdout
    info = _probe.parse_probe_output(out)
    assert info['model'] == {'model': 'lstm', 'rnn_size': 128, 'num_layers': 3}
    assert info['vocab'] == info['dataset_vocab'] == set(bytearray(b'abcdefghij\n'))
    env['CHARRNN_VOCAB'] = str(tmp_path / 'missing.t7')
    out = subprocess.run([stand_in_th, str(script)], cwd=str(charrnn_dir), env=env, stdout=subprocess.PIPE,
                         check=True).stdout
    assert _probe.parse_probe_output(out)['dataset_vocab_error']
