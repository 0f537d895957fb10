# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.log import RUN_MARKER

ITER = '%d/%d (epoch %.3f), train_loss = %6.8f, grad/param norm = %6.4e, time/batch = %.4fs'


def it_line(i, n, epoch, loss=1.5, norm=0.05, tpb=0.125):
    return ITER % (i, n, epoch, loss, norm, tpb)


@pytest.mark.parametrize('raw', [
    'vocab size: 65\t',
    'vocab size: 65\t\r',
    '\x1b[0;33mvocab size: 65\x1b[0m\t\r\n',
    b'vocab size: 65\t\n',
    'vocab size: 65',
])
def test_clean_line_variants(raw):
    assert _log.clean_line(raw) == 'vocab size: 65'


def test_iteration_line_with_tab_crlf_and_colour():
    raw = '\x1b[0;33m' + it_line(12, 21150, 0.028, 3.12345678, 5.1234e-02, 0.1253) + '\x1b[0m\t\r'
    info = _log.parse_line(raw)
    assert info['kind'] == 'iteration'
    assert info['iteration'] == 12 and info['iterations'] == 21150
    assert info['epoch'] == pytest.approx(0.028)
    assert info['train_loss'] == pytest.approx(3.12345678)
    assert info['grad_param_norm'] == pytest.approx(0.051234)
    assert info['time_per_batch'] == pytest.approx(0.1253)


def test_iteration_line_nan_loss():
    raw = '7/100 (epoch 0.070), train_loss =      nan, grad/param norm = -nan, time/batch = 0.1000s\t'
    info = _log.parse_line(raw)
    assert info['kind'] == 'iteration'
    assert math.isnan(info['train_loss']) and math.isnan(info['grad_param_norm'])


@pytest.mark.parametrize('line,kind,key,value', [
    ('saving checkpoint to cv/lm_lstm_epoch0.95_1.9512.t7\t', 'saving', 'path', 'cv/lm_lstm_epoch0.95_1.9512.t7'),
    ('evaluating loss over split index 2\t', 'eval_start', 'split', 2),
    ('3/23...\t', 'eval_progress', 'batch', 3),
    ('vocab size: 65\t', 'vocab', 'vocab_size', 65),
    ('number of parameters in the model: 240321\t', 'params', 'num_parameters', 240321),
    ('loading a model from checkpoint cv/lm_lstm_epoch1.00_1.5.t7\t', 'init_from', 'path',
     'cv/lm_lstm_epoch1.00_1.5.t7'),
])
def test_parse_line_kinds(line, kind, key, value):
    info = _log.parse_line(line)
    assert info['kind'] == kind
    assert info[key] == value


@pytest.mark.parametrize('line,kind', [
    ('loss is NaN.  This usually indicates a bug.  Please check the issues page\t', 'nan'),
    ('loss is exploding, aborting.\t', 'exploding'),
    ('/opt/torch/install/bin/luajit: ./util/CharSplitLMMinibatchLoader.lua:31: attempt to index', 'error'),
    ('stack traceback:', 'error'),
    ('ERROR. Code requested a batch for split val, but this split has no data.\t', 'error'),
    ('train.lua:143: error, the character vocabulary ...', 'error'),
    ('Terminated', 'shell'),
    ('Killed', 'shell'),
    ('%s 2024 session=x: th train.lua' % RUN_MARKER, 'marker'),
    ('[charrnn] run ended: exit status 0', 'run_end'),
    ('cloning rnn\t', 'other'),
    ('\t', 'blank'),
])
def test_parse_line_more_kinds(line, kind):
    assert _log.parse_line(line)['kind'] == kind


def test_batches_line():
    info = _log.parse_line('data load done. Number of data batches in train: 423, val: 23, test: 0\t')
    assert (info['train'], info['val'], info['test']) == (423, 23, 0)


def test_saved_checkpoints_followed_semantics():
    lines = [
        'saving checkpoint to cv/a.t7\t',
        it_line(1000, 2000, 1.0),
        'evaluating loss over split index 2\t',
        'saving checkpoint to cv/b.t7\t',
        '',
        'Terminated',
        '[charrnn] run ended: exit status 143',
    ]
    assert _log.saved_checkpoints(lines) == {'cv/a.t7': True, 'cv/b.t7': False}


def test_summarize_progress_median_and_eta():
    lines = ['vocab size: 65\t', 'number of parameters in the model: 240321\t',
             'data load done. Number of data batches in train: 100, val: 5, test: 0\t']
    tpbs = [0.1, 0.2, 0.3, 0.1, 5.0]  # one slow outlier: the median ignores it
    for i, t in enumerate(tpbs, 1):
        lines.append(it_line(i, 100, i / 100.0, loss=2.0 - i * 0.1, tpb=t))
    s = _log.summarize(lines)
    assert s['iteration'] == 5 and s['iterations'] == 100
    assert s['epoch'] == pytest.approx(0.05)
    assert s['train_loss'] == pytest.approx(1.5)
    assert s['time_per_batch'] == pytest.approx(5.0)
    assert s['median_time_per_batch'] == pytest.approx(0.2)
    assert s['eta_seconds'] == pytest.approx(95 * 0.2)
    assert s['vocab_size'] == 65 and s['num_parameters'] == 240321
    assert s['batches'] == {'train': 100, 'val': 5, 'test': 0}
    assert s['phase'] == 'training'


def test_summarize_median_window():
    lines = [it_line(i, 100, i / 100.0, tpb=(9.0 if i <= 15 else 1.0)) for i in range(1, 31)]
    assert _log.summarize(lines)['median_time_per_batch'] == pytest.approx(1.0)
    assert _log.summarize(lines, median_window=30)['median_time_per_batch'] == pytest.approx(5.0)


@pytest.mark.parametrize('last,phase', [
    ('evaluating loss over split index 2\t', 'evaluating'),
    ('2/5...\t', 'evaluating'),
    ('saving checkpoint to cv/x.t7\t', 'saving'),
    ('loss is NaN.  This usually indicates a bug.\t', 'nan'),
    ('loss is exploding, aborting.\t', 'exploding'),
])
def test_summarize_phase(last, phase):
    lines = [it_line(1, 10, 0.1), last]
    assert _log.summarize(lines)['phase'] == phase


def test_summarize_last_iteration_and_error():
    assert _log.summarize([it_line(10, 10, 1.0)])['phase'] == 'last_iteration'
    lines = ['vocab size: 3\t', '/opt/torch/install/bin/luajit: train.lua:10: boom', 'stack traceback:',
             "\t[C]: in function 'error'", '\ttrain.lua:10: in main chunk']
    s = _log.summarize(lines)
    assert s['phase'] == 'error'
    assert s['errors'][0].endswith('train.lua:10: boom')
    assert len(s['errors']) == 4
    assert s['iteration'] is None and s['eta_seconds'] is None


def test_split_runs_takes_last_run():
    lines = ['old', '%s x' % RUN_MARKER, 'run1', '%s y' % RUN_MARKER, 'run2a', 'run2b']
    assert _log.split_runs(lines) == (['run2a', 'run2b'], True)
    assert _log.split_runs(['a']) == (['a'], False)


def test_read_log_from_offset_and_marker(tmp_path):
    log = tmp_path / 'train.log'
    first = '%s 1\n%s\n' % (RUN_MARKER, it_line(1, 10, 0.1))
    second = '%s 2\nvocab size: 7\t\n%s\r\n' % (RUN_MARKER, it_line(2, 20, 0.1))
    log.write_text(first + second)
    r = _log.read_log(str(log))
    assert r['exists'] and r['lines'] == ['vocab size: 7', it_line(2, 20, 0.1)]
    r = _log.read_log(str(log), start_offset=len(first))
    assert r['lines'] == ['vocab size: 7', it_line(2, 20, 0.1)]
    assert _log.read_log(str(tmp_path / 'missing.log'))['exists'] is False


def test_read_log_large_reads_head_and_tail(tmp_path):
    log = tmp_path / 'train.log'
    body = ['%s run' % RUN_MARKER, 'vocab size: 65\t', 'number of parameters in the model: 99\t']
    body += [it_line(i, 5000, i / 100.0) + '\t' for i in range(1, 5001)]
    log.write_text('\n'.join(body) + '\n')
    r = _log.read_log(str(log), start_offset=0, head_bytes=2000, tail_bytes=3000)
    assert r['truncated']
    s = _log.summarize(r['lines'], r['head'])
    assert s['iteration'] == 5000
    assert s['vocab_size'] == 65 and s['num_parameters'] == 99
    assert len(r['lines']) < 100  # only the tail was read


def test_tail():
    assert _log.tail(['a', '', 'b', 'c'], 2) == ['b', 'c']


def test_loss_curves_of_the_current_run():
    lines = [
        RUN_MARKER + ' 2026-11-29T10:00:00Z',
        '1/100 (epoch 0.010), train_loss = 4.19803724, grad/param norm = 5.1721e-01, time/batch = 0.9035s\t',
        'saving checkpoint to cv/lm_lstm_epoch0.01_9.9999.t7\t',
        RUN_MARKER + ' 2026-11-29T11:00:00Z',
        '1/100 (epoch 0.010), train_loss = 4.00000000, grad/param norm = 5.1721e-01, time/batch = 0.9035s\t\r',
        '\x1b[0m2/100 (epoch 0.020), train_loss = nan, grad/param norm = 5.1721e-01, time/batch = 0.9035s\t',
        '3/100 (epoch 0.030), train_loss = 3.50000000, grad/param norm = 5.1721e-01, time/batch = 0.9035s\t',
        'evaluating loss over split index 2\t',
        '1/2...\t',
        'saving checkpoint to cv/lm_my_net_epoch0.04_2.1234.t7\t',
        'saving checkpoint to cv/lm_lstm_epoch0.05_-nan.t7\t',
        '4/100 (epoch 0.040), train_loss = 3.40000000, grad/param norm = 5.1721e-01, time/batch = 0.9035s\t',
    ]
    train, val = _log.loss_curves(lines)
    assert train == [(1, 4.0), (3, 3.5), (4, 3.4)]
    assert val == [(4, 2.1234)]


def test_median_of_an_even_count_reads_as_logged():
    lines = [it_line(1, 100, 0.01, tpb=0.2201), it_line(2, 100, 0.02, tpb=0.2201)]
    lines += [it_line(3, 100, 0.03, tpb=0.2200), it_line(4, 100, 0.04, tpb=0.2202)]
    s = _log.summarize(lines)
    assert s['median_time_per_batch'] == 0.2201 and repr(s['median_time_per_batch']) == '0.2201'
    s = _log.summarize([it_line(1, 100, 0.01, tpb=0.1), it_line(2, 100, 0.02, tpb=0.2)])
    assert repr(s['median_time_per_batch']) == '0.15'


def test_run_marker_is_recognised():
    line = _log.run_marker('s1', ['th', 'train.lua', '-savefile', 'a b'])
    assert _log.parse_line(line)['kind'] == 'marker'
    assert "'a b'" in line


def test_summarize_names_the_signal_a_trainer_stopped_on_after_its_checkpoint():
    line = '[charrnn] stopped on SIGTERM after saving cv/lm_lstm_epoch0.13_2.1000.t7 at iteration 5\t'
    assert _log.parse_line(line) == {
        'kind': 'stopped', 'text': line.rstrip('\t'), 'signal': 'SIGTERM', 'path': 'cv/lm_lstm_epoch0.13_2.1000.t7',
        'iteration': 5}
    lines = [it_line(4, 10, 0.1), '[charrnn] SIGTERM received: saving a checkpoint at the end of iteration 5, '
             'then stopping\t', 'saving checkpoint to cv/lm_lstm_epoch0.13_2.1000.t7\t', it_line(5, 10, 0.13), line]
    s = _log.summarize(lines)
    assert s['stopped_on'] == 'SIGTERM' and s['phase'] == 'training' and s['iteration'] == 5
    assert s['last_checkpoint'] == 'cv/lm_lstm_epoch0.13_2.1000.t7'
    assert _log.saved_checkpoints(lines) == {'cv/lm_lstm_epoch0.13_2.1000.t7': True}
    assert _log.summarize(lines[:-1])['stopped_on'] is None


@pytest.mark.parametrize('line,notice', [
    ('[charrnn] EC2 spot interruption notice (terminate at 2026-12-07T12:00:00Z): stopping the trainer (pid 7) with a '
     'checkpoint', 'EC2 spot interruption notice (terminate at 2026-12-07T12:00:00Z)'),
    ('[charrnn] GCP preemption notice: cannot stop the trainer ([Errno 3] No such process)', 'GCP preemption notice'),
])
def test_summarize_keeps_the_cloud_s_interruption_notice(line, notice):
    assert _log.parse_line(line) == {'kind': 'interruption', 'text': line, 'notice': notice}
    assert _log.summarize([it_line(4, 10, 0.1), line])['interruption'] == notice


def test_the_watcher_s_own_trouble_is_no_notice():
    line = '[charrnn] interruption notice watcher: cannot ask http://169.254.169.254/latest (timed out); asking again'
    assert _log.parse_line(line)['kind'] == 'other'
    assert _log.summarize([line])['interruption'] is None


def test_a_resumed_run_counts_on_from_its_checkpoint():
    lines = [
        'loading a model from checkpoint cv/lm_lstm_epoch3.00_1.9000.t7\t',
        '[charrnn] continuing the count of cv/lm_lstm_epoch3.00_1.9000.t7: 1200 iterations and 3.000 epochs '
        'before this run\t',
        '1/4000 (epoch 0.003), train_loss = 1.90000000, grad/param norm = 5.1721e-01, time/batch = 0.1000s\t',
        '2/4000 (epoch 0.005), train_loss = 1.80000000, grad/param norm = 5.1721e-01, time/batch = 0.1000s\t',
        'saving checkpoint to cv/lm_lstm.run2_epoch0.01_1.7000.t7\t',
    ]
    summary = _log.summarize(lines)
    assert (summary['iteration'], summary['iterations'], summary['epoch']) == (1202, 5200, 3.005)
    assert (summary['run_iteration'], summary['iterations_before'], summary['epochs_before']) == (2, 1200, 3.0)
    assert summary['eta_seconds'] == round(3998 * 0.1, 1)
    train, val = _log.loss_curves(lines)
    assert [p[0] for p in train] == [1201, 1202] and val == [(1203, 1.7)]
    # a run that did not resume counts from 1
    plain = _log.summarize(lines[2:])
    assert (plain['iteration'], plain['iterations'], plain['iterations_before'], plain['run_iteration']) == (2, 4000, 0, 2)


def test_stop_request_line():
    info = _log.parse_line('[charrnn] SIGTERM received: saving a checkpoint at the end of iteration 135, then stopping\t')
    assert (info['kind'], info['signal'], info['iteration']) == ('stop_requested', 'SIGTERM', 135)


def _saves(iterations, losses, before=None, savefile='lstm'):
    lines = []
    if before is not None:
        lines.append('[charrnn] continuing the count of cv/x.t7: %d iterations and 1.000 epochs before this run' % before)
    for i in range(1, iterations + 1):
        if i in losses:
            lines.append('saving checkpoint to cv/lm_%s_epoch%.2f_%s.t7\t' % (savefile, i / 10.0, losses[i]))
        lines.append(it_line(i, iterations, i / 10.0))
    return lines


def test_validations_of_a_resumed_run_keep_the_history_up_to_its_checkpoint():
    first = _saves(30, {10: '2.5000', 20: '2.4000', 30: '2.3000'})
    # resumed from the checkpoint of iteration 20: the one of 30 belongs to a branch left behind
    second = _saves(20, {10: '2.2000', 20: 'nan'}, before=20, savefile='lstm.run2')
    history = _log.validations([RUN_MARKER + ' a'] + first + [RUN_MARKER + ' b'] + second)
    assert [(v['iteration'], v['run_iteration'], v['val_loss_text']) for v in history] == [
        (10, 10, '2.5000'), (20, 20, '2.4000'), (30, 10, '2.2000'), (40, 20, 'nan')]
    assert math.isnan(history[-1]['val_loss'])
    # loss_curves shows the current run's finite ones, at the same iterations
    assert _log.loss_curves([RUN_MARKER + ' a'] + first + [RUN_MARKER + ' b'] + second)[1] == [(30, 2.2)]


def test_validations_of_a_run_from_scratch_start_a_new_history():
    first = _saves(30, {10: '2.5000'})
    second = _saves(20, {10: '2.6000'})
    assert [v['val_loss'] for v in _log.validations([RUN_MARKER + ' a'] + first + [RUN_MARKER + ' b'] + second)] == [2.6]
    # without markers the lines are one run
    assert len(_log.validations(first + second)) == 2
