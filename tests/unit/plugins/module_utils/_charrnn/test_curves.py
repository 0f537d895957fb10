# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Early stopping, advice and cost against real char-rnn logs (tests/unit/fixtures/charrnn_logs/README.md
says how each was made) and synthetic lines for the edges."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os

import pytest

from repo_paths import REPO

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import curves as _curves
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log

LOGS = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'charrnn_logs')
# The flags each recorded run was started with (the README's table).
OVERFIT = dict(rnn_size=256, num_layers=2, seq_length=50, batch_size=10, train_frac=0.8, val_frac=0.2,
               eval_val_every=9, max_epochs=80)
UNDERFIT = dict(rnn_size=16, num_layers=1, seq_length=25, batch_size=50, learning_rate=0.01, eval_val_every=38,
                max_epochs=15)
TOO_LARGE = dict(rnn_size=256, num_layers=2, seq_length=50, batch_size=20, eval_val_every=16, max_epochs=1)
EXPLODING = dict(rnn_size=64, num_layers=2, seq_length=50, batch_size=20, learning_rate=0.5, eval_val_every=5,
                 max_epochs=5)
SMALL_CORPUS = dict(rnn_size=32, num_layers=1, seq_length=50, batch_size=50, eval_val_every=11, max_epochs=3)
RESUME = dict(OVERFIT, eval_val_every=18)

ITER = '%d/%d (epoch %.3f), train_loss = %6.8f, grad/param norm = %6.4e, time/batch = %.4fs\t'


def recorded(*names):
    """The lines of recorded logs; several are joined by the run marker the train module writes between runs."""
    lines = []
    for name in names:
        if len(names) > 1:
            lines.append(_log.RUN_MARKER + ' 2024-01-01T00:00:00+0000 session=charrnn: th train.lua')
        with io.open(os.path.join(LOGS, name + '.log'), encoding='utf-8') as f:
            lines.extend(f.read().split('\n'))
    return [_log.clean_line(line) for line in lines]


def keys(advice):
    return sorted(a['key'] for a in advice)


def synthetic(points, per=10, total=None, train=2.0):
    """Log lines of a run validating every `per` iterations: points are the validation losses as logged
    ('2.5000', 'nan', ...), or (loss, 'SIGTERM') for a checkpoint a stop signal asked for one iteration later."""
    total = total or per * (len(points) + 1)
    lines, i = [], 0
    for point in points:
        loss, signal = (point, None) if isinstance(point, str) else point
        target = i + per + (1 if signal else 0)
        while i < target - 1:
            i += 1
            lines.append(ITER % (i, total, i / 10.0, train, 0.01, 0.1))
        if signal:
            lines.append('[charrnn] %s received: saving a checkpoint at the end of iteration %d, then stopping'
                         % (signal, target))
        lines.append('saving checkpoint to cv/lm_lstm_epoch%.2f_%s.t7\t' % (target / 10.0, loss))
        i += 1
        lines.append(ITER % (i, total, i / 10.0, train, 0.01, 0.1))
    return lines


# ------------------------------------------------------------------ early stopping: recorded runs

def test_overfit_run_stops_after_patience_validations_past_its_best():
    decision = _curves.early_stop(_log.validations(recorded('overfit')), patience=5, eval_val_every=9)
    assert decision['stop']
    assert decision['best']['path'] == 'cv-overfit/lm_lstm_epoch28.00_2.3451.t7'
    assert decision['best']['iteration'] == 252
    # epochs 29..33 did not beat 2.3451: patience ran out at epoch 33, 423 iterations before the end
    assert decision['due_at']['iteration'] == 297
    assert decision['reason'].startswith('stop: 52 validation(s) without a new best validation loss since iteration '
                                         '252 (2.3451), patience 5; best checkpoint lm_lstm_epoch28.00_2.3451.t7')


def test_overfit_run_goes_on_while_it_improves():
    lines = recorded('overfit')
    upto = next(n for n, line in enumerate(lines) if line.startswith('270/720 '))
    decision = _curves.early_stop(_log.validations(lines[:upto + 1]), patience=5, eval_val_every=9)
    assert not decision['stop'] and decision['since'] == 2 and decision['due_at'] is None
    assert decision['reason'].startswith('go on: 2 validation(s)')


def test_min_delta_counts_small_improvements_against_patience():
    history = _log.validations(recorded('overfit'))
    plain = _curves.early_stop(history, patience=3, eval_val_every=9)
    strict = _curves.early_stop(history, patience=3, min_delta=0.05, eval_val_every=9)
    # 2.4016 -> 2.3939 (epoch 20) is a new best but not better by more than 0.05
    assert strict['due_at']['iteration'] < plain['due_at']['iteration']
    assert strict['best'] == plain['best']
    assert 'without an improvement of more than 0.05' in strict['reason']


def test_resumed_run_continues_the_count_and_stops_in_its_second_run():
    history = _log.validations(recorded('resume-run1', 'resume-run2'))
    decision = _curves.early_stop(history, patience=3, eval_val_every=18)
    assert [v['iteration'] for v in history][-16:-14] == [135, 153]
    assert decision['best']['path'] == 'cv-resume/lm_lstm.run2_epoch12.00_2.3319.t7'
    assert decision['best']['iteration'] == 243 and decision['best']['run_iteration'] == 108
    assert decision['due_at']['iteration'] == 297
    assert decision['stop']


def test_checkpoints_by_time_and_on_sigterm_do_not_count_against_patience():
    history = _log.validations(recorded('resume-run1'))
    stop = history[-1]
    assert stop['requested_by'] == 'SIGTERM' and stop['iteration'] == 135
    by_time = [v['iteration'] for v in history if not _curves.in_rhythm(v, 18)]
    assert by_time == [4, 17, 27, 37, 47, 55, 66, 76, 85, 95, 105, 114, 125, 133, 135]
    # the best of run 1 came by time (2.5952 at 133); the stop's checkpoint after it (2.6188) is no
    # improvement, but it does not count against patience
    decision = _curves.early_stop(history, patience=1, eval_val_every=18)
    assert decision['best']['iteration'] == 133
    assert decision['since'] == 0 and not decision['stop']
    # the stop's checkpoint never counts: it ends the run anyway
    assert _curves.early_stop(history, patience=1)['since'] == 0


def test_a_checkpoint_by_time_that_does_not_improve_counts_only_without_the_rhythm():
    # validations every 5 iterations, and one by time at 13
    saved = {5: '2.5000', 10: '2.4000', 13: '2.4500', 15: '2.4200'}
    lines = []
    for i in range(1, 21):
        if i in saved:
            lines.append('saving checkpoint to cv/lm_lstm_epoch%.2f_%s.t7' % (i / 10.0, saved[i]))
        lines.append(ITER % (i, 100, i / 10.0, 2.0, 0.01, 0.1))
    history = _log.validations(lines)
    assert [v['iteration'] for v in history] == [5, 10, 13, 15]
    assert not _curves.in_rhythm(history[2], 5) and _curves.in_rhythm(history[3], 5)
    assert _curves.early_stop(history, patience=2, eval_val_every=5)['since'] == 1
    assert _curves.early_stop(history, patience=2)['stop']


# ------------------------------------------------------------------ early stopping: edges

def test_no_validation_yet():
    decision = _curves.early_stop(_log.validations(recorded('exploding')), patience=3)
    assert not decision['stop'] and decision['best'] is None
    assert decision['reason'] == 'no validation yet: train.lua validates every eval_val_every iterations'


def test_a_tie_with_the_best_is_no_improvement():
    history = _log.validations(synthetic(['2.5000', '2.4000', '2.4000', '2.4000']))
    decision = _curves.early_stop(history, patience=2)
    assert decision['stop'] and decision['best']['iteration'] == 20 and decision['since'] == 2
    assert not _curves.early_stop(_log.validations(synthetic(['2.5000', '2.4000', '2.4000', '2.3999'])),
                                  patience=2)['stop']


@pytest.mark.parametrize('bad', ['nan', '-nan', 'inf'])
def test_a_validation_loss_not_finite_is_never_the_best_and_is_named(bad):
    history = _log.validations(synthetic(['2.5000', bad, '2.6000']))
    decision = _curves.early_stop(history, patience=2)
    assert decision['stop'] and decision['best']['iteration'] == 10
    assert [v['iteration'] for v in decision['not_finite']] == [20]
    assert decision['reason'].endswith('; 1 validation loss(es) not finite, never a best (%s at iteration 20)' % bad)


def test_only_validations_not_finite():
    decision = _curves.early_stop(_log.validations(synthetic(['nan', 'nan'])), patience=2)
    assert decision['stop'] and decision['best'] is None
    assert decision['reason'].startswith('stop: 2 validation(s) and none with a finite loss, patience 2;')


def test_an_out_of_rhythm_checkpoint_can_be_the_best():
    # every 10 iterations, and one on SIGTERM at 41
    lines = synthetic(['2.5000', '2.4000', '2.3000', ('2.2000', 'SIGTERM')], total=60)
    history = _log.validations(lines)
    assert [(v['iteration'], v['requested_by']) for v in history][-1] == (41, 'SIGTERM')
    decision = _curves.early_stop(history, patience=1, eval_val_every=10)
    assert decision['best']['iteration'] == 41 and not decision['stop']
    assert decision['reason'].endswith('best checkpoint lm_lstm_epoch4.10_2.2000.t7 (validation loss 2.2000 at '
                                       'iteration 41)')


def test_patience_must_be_positive():
    with pytest.raises(ValueError):
        _curves.early_stop([], patience=0)


# ------------------------------------------------------------------ advice from recorded runs

def test_overfitting_and_model_too_large_and_small_corpus():
    advice = _curves.advise(recorded('overfit'), OVERFIT)
    assert keys(advice) == ['corpus_too_small', 'model_too_large', 'overfitting']
    by_key = dict((a['key'], a) for a in advice)
    assert by_key['overfitting']['message'] == (
        'validation loss rose over the last 3 validations (3.0148 at iteration 702 to 3.0771 at iteration 720, '
        'the best was 2.3451 at iteration 252) while training loss fell (0.4273 to 0.4038): the model overfits; '
        'raise dropout (now 0) or lower rnn_size (now 256)')
    assert by_key['model_too_large']['numbers'] == {'parameters': 860983, 'chars': 6000,
                                                    'ratio': pytest.approx(143.5, abs=0.1)}


def test_an_early_stopped_run_is_advised_on_train_lua_s_own_validations():
    # early-stopped.log: the run early stopping ended, through the collection on a fresh box; its last
    # checkpoint, the one SIGTERM asked for, is lower than the two before it
    lines = recorded('early-stopped')
    history = _log.validations(lines)
    assert history[-1]['requested_by'] == 'SIGTERM' and history[-1]['val_loss'] < history[-2]['val_loss']
    advice = dict((a['key'], a) for a in _curves.advise(lines, dict(OVERFIT, seed=123)))
    assert sorted(advice) == ['corpus_too_small', 'model_too_large', 'overfitting']
    assert advice['overfitting']['message'].startswith(
        'validation loss rose over the last 3 validations (2.4046 at iteration 270 to 2.4410 at iteration 288, '
        'the best was 2.3434 at iteration 234) while training loss fell (')


def test_no_overfitting_while_validation_loss_still_falls():
    lines = recorded('overfit')
    upto = next(n for n, line in enumerate(lines) if line.startswith('252/720 '))
    assert 'overfitting' not in keys(_curves.advise(lines[:upto + 1], OVERFIT))


def test_underfitting():
    advice = _curves.advise(recorded('underfit'), UNDERFIT)
    assert keys(advice) == ['underfitting']
    assert advice[0]['message'].startswith(
        'validation loss fell by 0.4% over the last 4 validations (1.9569 to 1.9482 at iteration 1140) and is '
        'within 3.0% of the training loss (1.8903): the model underfits; try a larger model (6093 parameters for '
        '100000 characters)')


def test_no_underfitting_while_the_loss_still_falls():
    lines = recorded('underfit')
    upto = next(n for n, line in enumerate(lines) if line.startswith('380/1140 '))
    assert keys(_curves.advise(lines[:upto + 1], UNDERFIT)) == []


def test_a_plateau_before_the_model_learnt_is_not_underfitting():
    # the overfit run's first validations are flat and close to the training loss: it has not begun to learn
    lines = recorded('overfit')
    upto = next(n for n, line in enumerate(lines) if line.startswith('45/720 '))
    assert 'underfitting' not in keys(_curves.advise(lines[:upto + 1], OVERFIT))


def test_model_too_large():
    advice = _curves.advise(recorded('toolarge'), TOO_LARGE)
    assert keys(advice) == ['model_too_large']
    assert advice[0]['message'].startswith('the model has 866107 parameters for 50000 characters of text (17 times')
    # the size of input.txt, when known, counts instead of the batches
    assert keys(_curves.advise(recorded('toolarge'), TOO_LARGE, corpus_chars=10 ** 6)) == []


def test_exploding_loss():
    advice = _curves.advise(recorded('exploding'), EXPLODING)
    assert keys(advice) == ['corpus_too_small', 'diverging']
    assert advice[0]['message'] == ('train.lua aborted: its training loss grew past 3 times the first one '
                                    '(training loss 27.97191151 at iteration 2): lower learning_rate (now 0.5)')


def test_nan_loss():
    lines = synthetic(['2.5000']) + [
        ITER % (11, 100, 1.1, float('nan'), float('nan'), 0.1),
        'loss is NaN.  This usually indicates a bug.  Please check the issues page for existing issues\t']
    advice = _curves.advise(lines, {'learning_rate': 0.01})
    assert keys(advice) == ['diverging']
    assert advice[0]['message'] == ('train.lua stopped: its training loss is NaN (training loss nan at iteration 11): '
                                    'lower learning_rate (now 0.01)')


def test_validation_loss_not_finite_is_diverging():
    advice = _curves.advise(synthetic(['2.5000', 'nan']), {})
    assert keys(advice) == ['diverging']
    assert advice[0]['message'].startswith('validation loss is nan at iteration 20')


def test_corpus_too_small_for_the_batch_shape():
    advice = _curves.advise(recorded('smallcorpus'), SMALL_CORPUS)
    assert keys(advice) == ['corpus_too_small']
    assert advice[0]['message'] == (
        'the corpus makes 24 batches of batch_size 50 x seq_length 50 = 2500 characters (22 for training, 2 for '
        'validation; char-rnn warns below 50 in all, and fewer than 3 validation batches make the validation loss '
        'noisy): lower batch_size or seq_length so that batch_size x seq_length is at most 1200, or train on more '
        'text')


def test_corpus_too_small_from_its_size_before_the_loader_ran():
    # char-rnn's split of 60000 bytes in batches of 2500 (dataset.split_sizes), before the log says it
    advice = _curves.advise([], SMALL_CORPUS, corpus_chars=60000)
    assert [a['numbers'] for a in advice] == [{'batches': 24, 'train_batches': 22, 'val_batches': 2,
                                               'per_batch': 2500}]
    assert _curves.advise([], dict(SMALL_CORPUS, batch_size=10), corpus_chars=60000) == []


# ------------------------------------------------------------------ ETA and cost

def test_eta_and_cost():
    lines = recorded('overfit')
    upto = next(n for n, line in enumerate(lines) if line.startswith('360/720 '))
    summary = _log.summarize(lines[:upto + 1])
    result = _curves.eta_and_cost(summary, elapsed_seconds=5400, hourly_price=0.4)
    assert result['eta_seconds'] == summary['eta_seconds'] > 0
    assert result['cost_so_far'] == 0.6
    assert result['cost_to_end'] == round(summary['eta_seconds'] / 3600.0 * 0.4, 4) == 0.0028
    # an amount below a cent keeps the digits that say it is not nothing
    assert result['message'].endswith(', 0.0028 more to the end')
    assert not result['may_end_sooner']
    assert result['message'].startswith('under a minute left to iteration 720, 0.60 spent in 1 h 30 min at 0.4 an hour')


def test_eta_with_early_stopping_and_no_price():
    summary = {'eta_seconds': 7260.0, 'iterations': 1000}
    result = _curves.eta_and_cost(summary, elapsed_seconds=60, early_stopping=True)
    assert result['cost_so_far'] is None and result['cost_to_end'] is None and result['may_end_sooner']
    assert result['message'] == 'about 2 h 01 min left to iteration 1000; early stopping is on, so the run may end sooner'


def test_no_eta_before_the_first_iteration():
    result = _curves.eta_and_cost(_log.summarize([]), elapsed_seconds=30, hourly_price=1)
    assert result['cost_so_far'] == 0.0083  # 30 s at 1 an hour
    assert result['message'] == 'no ETA yet: no iteration timed, 0.0083 spent in under a minute at 1 an hour'
