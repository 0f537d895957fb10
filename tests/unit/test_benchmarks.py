# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The benchmark scripts' own logic on train.lua output captured as th prints it (each print ends with a
TAB); the benchmarks themselves need Torch and run by hand (benchmarks/run.sh)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import os
import subprocess
import sys
import types

import pytest

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = repo_paths.REPO


def load(name):
    spec = importlib.util.spec_from_file_location('bench_' + name, os.path.join(REPO, 'benchmarks', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


throughput = load('training_throughput')
parity = load('loss_parity')


def th_print(*lines):
    return ''.join(line + '\t\n' for line in lines)


def iteration(i, total, loss, tpb, ntrain=423):
    return ('%d/%d (epoch %.3f), train_loss = %6.8f, grad/param norm = 5.4349e-01, time/batch = %.4fs'
            % (i, total, i / float(ntrain), loss, tpb))


def run_output(total, every, val_losses, tpb=0.2, prelude=None):
    lines = []
    if prelude:
        lines.append('[charrnn] precision float: train.lua computes in torch.FloatTensor; checkpoints are saved '
                     'in torch.DoubleTensor')
    lines += ['loading data files...', 'cutting off end of data so that the batches/sequences divide evenly',
              'reshaping tensor...', 'data load done. Number of data batches in train: 423, val: 23, test: 0',
              'vocab size: 65', 'creating an lstm with 2 layers', 'setting forget gate biases to 1 in LSTM layer 1',
              'setting forget gate biases to 1 in LSTM layer 2', 'number of parameters in the model: 240321',
              'cloning rnn', 'cloning criterion']
    for i in range(1, total + 1):
        if i % every == 0 or i == total:
            lines.append('evaluating loss over split index 2')
            lines += ['%d/23...' % j for j in range(1, 24)]
            lines.append('saving checkpoint to /tmp/x/cv/lm_lstm_epoch%.2f_%.4f.t7' % (i / 423.0, val_losses[i]))
        lines.append(iteration(i, total, 4.2 - i * 0.002, tpb + (0.1 if i == 1 else 0)))
    return th_print(*lines)


def test_throughput_reads_train_lua_times_after_the_warmup():
    out = run_output(8, 1000, {8: 3.1}, tpb=0.15, prelude=True)
    times = throughput.batch_times(out, warmup=5)
    assert times == [0.15, 0.15, 0.15]
    assert throughput.batch_times(out, warmup=0)[0] == 0.25


def test_throughput_runs_float_through_the_prelude():
    args = types.SimpleNamespace(th='/opt/torch/bin/th')
    double = throughput.trainer_argv(args, '/tmp/w', ['-gpuid', '-1'], 'double')
    single = throughput.trainer_argv(args, '/tmp/w', ['-gpuid', '-1'], 'float')
    assert double == ['/opt/torch/bin/th', 'train.lua', '-gpuid', '-1']
    assert single == ['/opt/torch/bin/th', '/tmp/w/train.log.prelude.lua', 'float', 'train.lua', '-gpuid', '-1']


@pytest.mark.parametrize('text,want', [('double,float', ['double', 'float']), ('float', ['float']),
                                       (' float , double ', ['float', 'double']),
                                       ('double,float,float-clones', ['double', 'float', 'float-clones'])])
def test_throughput_precision_list(text, want):
    assert throughput.parse_precisions(text) == want


@pytest.mark.parametrize('text', ['half', 'float,float', '', 'double,single'])
def test_throughput_precision_list_errors(text):
    with pytest.raises(ValueError):
        throughput.parse_precisions(text)


def test_throughput_speedup_is_double_over_float():
    rows = [{'setting': 'a', 'precision': 'double', 'median': 0.30},
            {'setting': 'a', 'precision': 'float', 'median': 0.20},
            {'setting': 'b', 'precision': 'double', 'median': 0.50}]
    assert throughput.speedups(rows, ['double', 'float']) == {'a': pytest.approx(1.5)}
    assert throughput.speedups(rows, ['double']) == {}


def test_throughput_fused_step_speedup_is_clones_over_fused():
    rows = [{'setting': 'a', 'precision': 'float-clones', 'median': 0.12},
            {'setting': 'a', 'precision': 'float', 'median': 0.06},
            {'setting': 'a', 'precision': 'double', 'median': 0.18}]
    assert throughput.speedups(rows, ['double', 'float', 'float-clones'], slower='float-clones') == \
        {'a': pytest.approx(2.0)}


def test_throughput_float_clones_keeps_char_rnns_clones(monkeypatch, tmp_path):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append((cmd, kwargs['env']))
        out = run_output(8, 1000, {8: 3.0}, tpb=0.1, prelude=True)
        if kwargs['env'].get('CHARRNN_LSTM_STEP') == 'graph':
            out += "[charrnn] LSTM step not fused (CHARRNN_LSTM_STEP=graph): training through char-rnn's clones\n"
        elif 'float' in cmd:
            out += '[charrnn] LSTM step fused: 2 layers of 128, 50 steps per sequence\n'
        return types.SimpleNamespace(returncode=0, stdout=out)
    monkeypatch.setattr(throughput.subprocess, 'run', fake_run)
    monkeypatch.setenv('CHARRNN_LSTM_STEP', 'fused')
    monkeypatch.setenv('OPENBLAS_CORETYPE', 'Haswell')
    args = types.SimpleNamespace(th='th', char_rnn='/c', ntrain=423, iterations=8, warmup=5)
    for variant in ('float-clones', 'float', 'double'):
        throughput.run_once(args, str(tmp_path), {'OMP_NUM_THREADS': '1'}, variant)
    (clones_cmd, clones_env), (float_cmd, float_env), (double_cmd, double_env) = calls
    assert clones_cmd == float_cmd and 'float' in clones_cmd and 'float' not in double_cmd
    assert clones_env['CHARRNN_LSTM_STEP'] == 'graph'
    assert 'CHARRNN_LSTM_STEP' not in float_env and 'CHARRNN_LSTM_STEP' not in double_env
    assert all('OPENBLAS_CORETYPE' not in env and env['OMP_NUM_THREADS'] == '1' for env in (clones_env, float_env))


def test_parity_reads_validation_losses_at_their_iterations():
    losses = {100: 2.51, 200: 2.2, 250: 2.1}
    out = run_output(250, 100, losses, prelude=True)
    assert parity.validation_losses(out) == losses
    assert len(parity.batch_times(out)) == 250


def test_parity_compares_at_common_iterations():
    rows = parity.compare({100: 2.5, 200: 2.0, 300: 1.8}, {100: 2.55, 200: 1.98})
    assert [r[0] for r in rows] == [100, 200]
    assert rows[0][3] == pytest.approx(0.02)
    assert rows[1][3] == pytest.approx(-0.01)


def test_parity_verdict():
    met, text = parity.verdict([(1000, 1.99, 2.02, (2.02 - 1.99) / 1.99)], 1000)
    assert met and 'met' in text and '+1.51%' in text
    met, text = parity.verdict([(1000, 1.90, 1.95, (1.95 - 1.90) / 1.90)], 1000)
    assert not met and 'NOT met' in text and '+2.63%' in text
    met, text = parity.verdict([(900, 1.9, 1.9, 0.0)], 1000)
    assert not met and 'no validation loss of both precisions at iteration 1000' in text


def test_parity_nan_validation_loss_is_left_out():
    out = run_output(200, 100, {100: float('nan'), 200: 2.0}).replace('_nan.t7', '_-nan.t7')
    assert parity.validation_losses(out) == {200: 2.0}


@pytest.mark.parametrize('script', ['training_throughput.py', 'loss_parity.py'])
def test_benchmark_scripts_answer_help_without_torch(script):
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'benchmarks', script), '--help'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 0, proc.stderr
    assert b'--precision' in proc.stdout or b'--seeds' in proc.stdout


def test_throughput_refuses_an_unknown_precision():
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'benchmarks', 'training_throughput.py'),
                           '--precision', 'half'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 2 and b"unknown 'half': choose from double, float, float-clones" in proc.stderr


def test_benchmark_run_script_knows_its_benchmarks():
    proc = subprocess.run(['bash', '-n', os.path.join(REPO, 'benchmarks', 'run.sh')], check=False)
    assert proc.returncode == 0
    with open(os.path.join(REPO, 'benchmarks', 'run.sh')) as f:
        text = f.read()
    for name in ('loss-parity)', 'throughput)', 'pytorch)', 'first-checkpoint)', 'loss_parity.py',
                 "--precision double,float"):
        assert name in text, name


def test_throughput_refuses_a_float_run_that_fell_back(monkeypatch, tmp_path):
    out = run_output(8, 1000, {8: 3.0}, tpb=0.1, prelude=True)
    out += "[charrnn] LSTM step not fused (dropout): training through char-rnn's clones\n"
    monkeypatch.setattr(throughput.subprocess, 'run',
                        lambda cmd, **kwargs: types.SimpleNamespace(returncode=0, stdout=out))
    args = types.SimpleNamespace(th='th', char_rnn='/c', ntrain=423, iterations=8, warmup=5)
    with pytest.raises(SystemExit) as e:
        throughput.run_once(args, str(tmp_path), {}, 'float')
    assert "float did not train the way it names (no '[charrnn] LSTM step fused' in its output)" in str(e.value)
    assert throughput.run_once(args, str(tmp_path), {}, 'double') == [0.1, 0.1, 0.1]


def test_collection_env_asks_ldd_the_way_the_module_does(tmp_path, monkeypatch):
    # the benchmarks' runner: ldd found on PATH and run with subprocess, then the module's own decision
    collection_env = load('collection_env')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'ldd').write_text('#!/bin/sh\necho "$1" >> %s\necho "\tlibopenblas.so.0 => /x/libopenblas.so.0 (0x1)"\n'
                                 % (tmp_path / 'ldd-calls'))
    (bin_dir / 'ldd').chmod(0o755)
    prefix = tmp_path / 'torch'
    (prefix / 'bin').mkdir(parents=True)
    (prefix / 'lib').mkdir()
    (prefix / 'bin' / 'th').write_text('')
    (prefix / 'lib' / 'libTH.so').write_text('')
    monkeypatch.setenv('PATH', str(bin_dir) + os.pathsep + os.environ['PATH'])
    asked = []

    def decide(picked, config, flags, machine):
        asked.append((picked, config))
        return 'SkylakeX'
    monkeypatch.setattr(collection_env._blas, 'openblas_core', lambda library: ('Prescott', 'DYNAMIC_ARCH'))
    monkeypatch.setattr(collection_env._blas, 'core_to_force', decide)
    th = str(prefix / 'bin' / 'th')
    assert collection_env.core_override(th, environ={}) == 'SkylakeX'
    assert (tmp_path / 'ldd-calls').read_text().strip() == str(prefix / 'lib' / 'libTH.so')
    assert asked == [('Prescott', 'DYNAMIC_ARCH')]
    assert collection_env.thread_env(th, 2, environ={}) == {
        'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '2', 'OMP_WAIT_POLICY': 'PASSIVE',
        'OPENBLAS_CORETYPE': 'SkylakeX'}
    assert collection_env.core_override(th, environ={'OPENBLAS_CORETYPE': 'Haswell'}) is None
    assert collection_env.core_override(None) is None
