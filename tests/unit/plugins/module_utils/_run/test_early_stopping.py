# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The early-stopping watcher against real char-rnn logs (tests/unit/fixtures/charrnn_logs/) as they grow,
and run as the wrapper runs it, from the module_utils installed on the host, against a process it stops."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import os
import signal
import subprocess
import sys

import pytest

from repo_paths import REPO

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _supervisor  # noqa: F401  pylint: disable=unused-import
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import early_stopping as _early_stopping
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import supervision as _supervision

LOGS = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'charrnn_logs')
MARKER = _log.RUN_MARKER + ' 2026-12-07T00:00:00+0000 session=charrnn: th train.lua'


def recorded(name):
    with io.open(os.path.join(LOGS, name + '.log'), encoding='utf-8') as f:
        return [_log.clean_line(line) for line in f.read().split('\n')]


def first_stop(lines, patience, eval_val_every, min_delta=0.0, start=0):
    """The decision and the number of lines the log had when the watcher, reading it as it grew, said stop."""
    for n in range(start + 1, len(lines) + 1):
        decision = _early_stopping.decide(lines[:n], patience, min_delta, eval_val_every)
        if decision and decision['stop']:
            return decision, n
    return None, None


def test_a_real_overfitting_run_stops_once_patience_runs_out_after_its_best():
    lines = [MARKER] + recorded('overfit')
    decision, n = first_stop(lines, patience=5, eval_val_every=9)
    # the best (2.3451 at iteration 252), then five validations without a better one: the fifth is at 297
    assert decision['best']['path'] == 'cv-overfit/lm_lstm_epoch28.00_2.3451.t7'
    assert decision['improved_at']['iteration'] == 252 and decision['since'] == 5
    assert _log.parse_line(lines[n - 2])['kind'] == 'saving' and 'epoch33.00' in lines[n - 2]
    assert decision['line'] == (
        '[charrnn] early stop at iteration 297, best checkpoint cv-overfit/lm_lstm_epoch28.00_2.3451.t7: 5 '
        'validation(s) without a new best validation loss since iteration 252 (2.3451), patience 5; best checkpoint '
        'lm_lstm_epoch28.00_2.3451.t7 (validation loss 2.3451 at iteration 252)')
    # the line reads back as the decision it logs
    info = _log.parse_line(decision['line'])
    assert info['kind'] == 'early_stop' and info['iteration'] == 297
    assert info['best'] == 'cv-overfit/lm_lstm_epoch28.00_2.3451.t7'


def test_the_run_the_collection_stopped_early_on_a_fresh_box():
    lines = recorded('early-stopped')
    logged = [n for n, line in enumerate(lines) if line.startswith(_log.EARLY_STOP_PREFIX)]
    assert len(logged) == 1
    # read as it grew, the log says stop at 279, five validations past the best at 234; the watcher there
    # looked once train.lua had gone on past 288, and logged the decision it took then
    decision, n = first_stop(lines[:logged[0]], patience=5, eval_val_every=9)
    assert decision['line'].startswith('[charrnn] early stop at iteration 279, best checkpoint '
                                       'cv/lm_lstm_epoch26.00_2.3434.t7: 5 validation(s) ')
    assert _early_stopping.decide(lines[:logged[0]], 5, 0.0, 9)['line'] == lines[logged[0]]
    # what follows is the stop it asked for, which decides nothing more
    assert _early_stopping.decide(lines, 5, 0.0, 9) == {'stop': False}


def test_no_decision_while_train_lua_still_saves_the_checkpoint():
    lines = [MARKER] + recorded('overfit')
    dummy, n = first_stop(lines, patience=5, eval_val_every=9)
    # the log ends with the saving line: the checkpoint may be half written, the decision waits
    assert _early_stopping.decide(lines[:n - 1], 5, 0.0, 9) is None


def test_min_delta_makes_small_improvements_count_against_patience():
    lines = [MARKER] + recorded('overfit')
    plain, n_plain = first_stop(lines, patience=3, eval_val_every=9)
    strict, n_strict = first_stop(lines, patience=3, eval_val_every=9, min_delta=0.2)
    assert n_strict < n_plain
    assert 'an improvement of more than 0.2' in strict['line']


def test_a_run_that_learns_to_its_end_is_never_stopped():
    lines = [MARKER] + recorded('underfit')
    assert first_stop(lines, patience=3, eval_val_every=38) == (None, None)


def test_a_resumed_run_continues_the_count_of_the_run_it_resumes():
    run1, run2 = recorded('resume-run1'), recorded('resume-run2')
    lines = [MARKER] + run1 + [MARKER] + run2
    decision, n = first_stop(lines, patience=4, eval_val_every=18, start=len(run1) + 2)
    # the count goes on from run 1's validations: iterations as the prelude counts them on
    assert decision['best']['path'].endswith('_2.3319.t7') and decision['best']['iteration'] == 243
    assert decision['line'].startswith('[charrnn] early stop at iteration %d, ' % (243 + 4 * 18))


ITER = '%d/%d (epoch %.3f), train_loss = 1.80000000, grad/param norm = 1.0000e-02, time/batch = 0.1000s'


def validating(losses, before=0, per=10, total=100):
    """The lines of a run that validates every `per` of its iterations with these losses (as logged)."""
    lines, i = [], 0
    for loss in losses:
        for dummy in range(per - 1):
            i += 1
            lines.append(ITER % (i, total, i / 10.0))
        lines.append('saving checkpoint to cv/lm_lstm_epoch%.2f_%s.t7' % ((before + i + 1) / 10.0, loss))
        i += 1
        lines.append(ITER % (i, total, i / 10.0))
    return lines


def test_a_resume_after_an_early_stop_gets_patience_validations_of_its_own():
    first = [MARKER] + validating(['2.0000', '1.9000', '1.9500', '1.9600'])
    decision, n = first_stop(first, patience=2, eval_val_every=10)
    assert n == len(first) and decision['line'].startswith('[charrnn] early stop at iteration 40, ')
    resumed = [MARKER, '[charrnn] continuing the count of cv/lm_lstm_epoch4.00_1.9600.t7: 40 iterations and '
                       '4.000 epochs before this run'] + validating(['1.9700', '1.9800', '1.9900'], before=40)
    lines = first + [decision['line'], '[charrnn] run ended: exit status 0'] + resumed
    assert _early_stopping.earlier_stop(lines) == 40
    again, m = first_stop(lines, patience=2, eval_val_every=10, start=len(first) + 2)
    # not at its first validation (iteration 50), which the count from before the stop would have said
    assert again['line'].startswith('[charrnn] early stop at iteration 60, best checkpoint '
                                    'cv/lm_lstm_epoch2.00_1.9000.t7: 2 validation(s) ')
    # a resume after anything else (a reboot, a stop) carries the count on
    carried = first + ['[charrnn] run ended: exit status 0'] + resumed
    assert _early_stopping.earlier_stop(carried) == 0
    assert first_stop(carried, 2, 10, start=len(first) + 1)[0]['line'].startswith(
        '[charrnn] early stop at iteration 50, ')


def test_a_stop_signal_on_the_way_or_a_stop_already_decided_is_left_alone():
    lines = [MARKER] + recorded('overfit')
    decision, n = first_stop(lines, patience=5, eval_val_every=9)
    assert _early_stopping.decide(lines[:n] + [decision['line']], 5, 0.0, 9) == {'stop': False}
    signalled = lines[:n] + ['[charrnn] stopped on SIGTERM after saving cv-overfit/x.t7 at iteration 298']
    assert _early_stopping.decide(signalled, 5, 0.0, 9) == {'stop': False}


@pytest.mark.parametrize('patience,min_delta,error', [
    (0, 0.0, None),
    (3, 0.01, None),
    (-1, 0.0, 'patience must be 0 (no early stopping) or a number of validations, got -1'),
    (3, -0.1, 'min_delta must be 0 or more'),
    (0, 0.1, 'min_delta needs patience'),
])
def test_options_are_checked_before_anything_runs(patience, min_delta, error):
    found = _early_stopping.check(patience, min_delta)
    assert (found is None) if error is None else found.startswith(error)


def test_no_watcher_without_patience():
    assert _early_stopping.watcher_argv(sys.executable, '/code', 'log', 'pid', 0, 0.0, 1000) is None


@pytest.fixture
def trainer(tmp_path):
    """A process standing in for the trainer, with its pid file."""
    proc = subprocess.Popen(['sleep', '60'])
    pid_file = tmp_path / 'train.log.pid'
    pid_file.write_text('%d\n' % proc.pid)
    yield proc, str(pid_file)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_the_installed_watcher_logs_why_and_stops_the_trainer(tmp_path, trainer):
    proc, pid_file = trainer
    lines = [MARKER] + recorded('overfit')
    decision, n = first_stop(lines, patience=5, eval_val_every=9)
    log = tmp_path / 'train.log'
    log.write_text('\n'.join(lines[:n]) + '\n')
    code_dir = _supervision.install_code(str(tmp_path / 'code'), _supervision.supervisor_sources())
    argv = _early_stopping.watcher_argv(sys.executable, code_dir, str(log), pid_file, 5, 0.0, 9, look=0.1)
    # the collection is not on the watcher's path: it runs from what was installed, as on a host
    env = dict((k, v) for k, v in os.environ.items() if k != 'PYTHONPATH')
    assert subprocess.call(argv, env=env, cwd=str(tmp_path), timeout=60) == 0
    assert proc.wait(timeout=10) == -signal.SIGTERM
    assert log.read_text().endswith(decision['line'] + '\n')


def test_the_watcher_waits_for_validations_and_goes_on_after_an_error(tmp_path, trainer, monkeypatch):
    proc, pid_file = trainer
    log = tmp_path / 'train.log'
    lines = [MARKER] + recorded('overfit')
    dummy, n = first_stop(lines, patience=5, eval_val_every=9)
    log.write_text('\n'.join(lines[:40]) + '\n')
    calls = []
    real_decide = _early_stopping.decide

    def decide(*args):
        calls.append(len(args[0]))
        if len(calls) == 1:
            raise ValueError('a log it cannot read')
        return real_decide(*args)

    def sleeper(dummy_seconds):
        # the log grows by a few lines between looks, as training goes on
        size = len(log.read_text().splitlines())
        if size >= n:
            raise AssertionError('the watcher did not stop the run')
        with open(str(log), 'a') as f:
            f.write('\n'.join(lines[size:size + 7]) + '\n')

    monkeypatch.setattr(_early_stopping, 'decide', decide)
    assert _early_stopping.main([str(log), pid_file, '5', '0', '9', '0'], sleeper=sleeper) == 0
    assert proc.wait(timeout=10) == -signal.SIGTERM
    text = log.read_text()
    assert text.count('[charrnn] early stopping: cannot read the validations (ValueError: a log it cannot read); '
                      'training goes on') == 1
    assert text.rstrip('\n').splitlines()[-1].startswith('[charrnn] early stop at iteration 297, ')
    # it looked only when a checkpoint was announced, not at every line
    assert len(calls) < 2 * 34


def test_a_trainer_already_gone_is_logged(tmp_path):
    log = tmp_path / 'train.log'
    log.write_text('')
    _early_stopping.stop_trainer(str(tmp_path / 'missing.pid'), str(log), '[charrnn] early stop at iteration 1, x')
    text = log.read_text().splitlines()
    assert text[0] == '[charrnn] early stop at iteration 1, x'
    assert text[1].startswith('[charrnn] early stopping: cannot stop the trainer (')
