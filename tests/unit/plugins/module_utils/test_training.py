# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import time

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import common
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import training
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import trainlog


def _fake_trainer(path, body):
    path.write_text('#!/bin/sh\n' + body)
    path.chmod(0o755)
    return path


def test_build_wrapper_quotes_and_records_pid_and_status(tmp_path):
    """Run the wrapper with plain sh (no screen): pid file, log, exit status, quoting."""
    chdir = tmp_path / "dir with 'quotes' and spaces"
    chdir.mkdir()
    script = _fake_trainer(chdir / 'fake-trainer', 'echo "args:$*"\necho "omp:$OMP_NUM_THREADS $OMP_WAIT_POLICY"\n'
                           'echo "to stderr" >&2\necho "pid:$$"\nexit 3\n')
    log = tmp_path / 'log dir' / 'train $x.log'
    log.parent.mkdir()
    pid_file = str(log) + '.pid'
    env = common.thread_env(2, 3)
    argv = training.build_wrapper(str(chdir), [str(script), 'train.lua', '-savefile', 'a b;$(touch x)'],
                                  env, str(log), pid_file, stdbuf='/usr/bin/stdbuf')
    assert argv[:2] == ['/bin/sh', '-c']
    subprocess.check_call(argv)
    text = log.read_text()
    lines = text.splitlines()
    pid = int(open(pid_file).read())
    assert lines[0] == 'args:train.lua -savefile a b;$(touch x)'
    assert lines[1] == 'omp:3 PASSIVE'
    assert 'to stderr' in lines
    assert 'pid:%d' % pid in lines  # the exec'd trainer has the recorded pid
    assert lines[-1] == '[charrnn] run ended: exit status 3'
    assert training.exit_status(lines) == 3
    assert not (chdir / 'x').exists()


def test_run_marker_is_recognised():
    line = training.run_marker('s1', ['th', 'train.lua', '-savefile', 'a b'])
    assert trainlog.parse_line(line)['kind'] == 'marker'
    assert "'a b'" in line


@pytest.mark.parametrize('summary,running,exists,code,expected', [
    ({'phase': 'training'}, True, True, None, 'training'),
    ({'phase': 'last_iteration'}, True, True, None, 'training'),
    ({'phase': 'starting'}, True, False, None, 'running'),
    ({'phase': 'starting'}, False, False, None, 'not_started'),
    ({'phase': 'last_iteration', 'iteration': 10}, False, True, 0, 'finished'),
    ({'phase': 'nan', 'iteration': 3}, False, True, 0, 'nan'),
    ({'phase': 'error'}, False, True, 1, 'error'),
    ({'phase': 'training', 'iteration': 3}, False, True, 143, 'stopped'),
    ({'phase': 'training', 'iteration': 3}, False, True, 1, 'error'),
    ({'phase': 'starting', 'iteration': None}, False, True, 0, 'ended_without_training'),
])
def test_status_of(summary, running, exists, code, expected):
    assert training.status_of(summary, running, exists, code) == expected


def _write_log(path, lines, marker=True):
    with open(path, 'w') as f:
        if marker:
            f.write('%s test\n' % common.RUN_MARKER)
        for line in lines:
            f.write(line + '\n')


def test_observer_without_trainer(tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    log = common.default_log_path(str(cv), 's')
    a = cv / 'lm_lstm_epoch0.50_2.0000.t7'
    b = cv / 'lm_lstm_epoch1.00_1.5000.t7'
    a.write_text('a')
    b.write_text('b')
    os.utime(str(a), (time.time() - 100, time.time() - 100))
    _write_log(log, ['vocab size: 10\t', 'saving checkpoint to cv/lm_lstm_epoch0.50_2.0000.t7\t',
                     '10/20 (epoch 0.500), train_loss = 2.0, grad/param norm = 1e-2, time/batch = 0.1s\t',
                     'saving checkpoint to cv/lm_lstm_epoch1.00_1.5000.t7\t',
                     '20/20 (epoch 1.000), train_loss = 1.5, grad/param norm = 1e-2, time/batch = 0.1s\t',
                     '[charrnn] run ended: exit status 0'])
    calls = []

    def runner(argv, env_update=None, cwd=None):
        calls.append(argv)
        return 1, 'No Sockets found in /run/screen/S-root.\n', ''
    obs = training.Observer(str(cv), 'lstm', 's', log, screen_bin='screen', runner=runner,
                            sleeper=lambda s: None).look()
    assert calls and obs['running'] is False
    assert [e['name'] for e in obs['complete']] == [a.name, b.name]
    t = obs['training']
    assert t['status'] == 'finished' and t['exit_status'] == 0 and t['vocab_size'] == 10
    assert t['pid'] is None and t['session_alive'] is False
    assert 'saves' not in t


def test_observer_with_live_session_sees_in_progress(tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    log = common.default_log_path(str(cv), 's')
    b = cv / 'lm_lstm_epoch1.00_1.5000.t7'
    b.write_text('partial')
    _write_log(log, ['saving checkpoint to cv/lm_lstm_epoch1.00_1.5000.t7\t'])

    def runner(argv, env_update=None, cwd=None):
        return 0, 'There is a screen on:\n\t123.s\t(Detached)\n1 Socket in /run/screen/S-root.\n', ''
    obs = training.Observer(str(cv), 'lstm', 's', log, screen_bin='screen', runner=runner).look()
    assert obs['running'] is True
    assert obs['complete'] == [] and [e['name'] for e in obs['in_progress']] == [b.name]
    assert obs['training']['status'] == 'saving'


def test_trainer_pid_requires_train_lua_cmdline(tmp_path):
    log = str(tmp_path / 'x.log')
    with open(common.pid_path(log), 'w') as f:
        f.write('%d\n' % os.getpid())  # alive, but not a train.lua process
    assert training.trainer_pid(log, {}) is None
    common.write_state(log, {'pid': os.getpid()})
    assert json.load(open(common.state_path(log)))['pid'] == os.getpid()
    assert training.trainer_pid(log) is None


def _prune(directory, savefile, keep):
    subprocess.check_call(['/bin/sh', '-c', training.PRUNE_FUNCTION + '; prune "$@"', 'sh',
                           str(directory), savefile, str(keep)])
    return sorted(os.listdir(str(directory)))


def test_prune_keeps_the_newest_and_the_best(tmp_path):
    names = [  # oldest first
        'lm_lstm_epoch1.00_1.9000.t7',
        'lm_lstm_epoch2.00_1.2000.t7',  # the best
        'lm_lstm_epoch3.00_1.5000.t7',
        'lm_lstm.run2_epoch0.50_1.4000.t7',
        'lm_lstm.run2_epoch1.00_nan.t7',
        'lm_lstm.run2_epoch1.50_1.3000.t7',
    ]
    for i, name in enumerate(names):
        (tmp_path / name).write_text('x')
        os.utime(str(tmp_path / name), (1000 + i, 1000 + i))
    (tmp_path / 'lm_gru_epoch1.00_0.1000.t7').write_text('another savefile')
    (tmp_path / 'notes.txt').write_text('not a checkpoint')
    assert _prune(tmp_path, 'lstm', 2) == sorted([
        'lm_lstm_epoch2.00_1.2000.t7', 'lm_lstm.run2_epoch1.00_nan.t7', 'lm_lstm.run2_epoch1.50_1.3000.t7',
        'lm_gru_epoch1.00_0.1000.t7', 'notes.txt'])
    assert _prune(tmp_path, 'lstm', 1) == sorted([
        'lm_lstm_epoch2.00_1.2000.t7', 'lm_lstm.run2_epoch1.50_1.3000.t7', 'lm_gru_epoch1.00_0.1000.t7',
        'notes.txt'])


def test_prune_of_an_empty_or_missing_directory_does_nothing(tmp_path):
    assert _prune(tmp_path, 'lstm', 3) == []
    assert subprocess.call(['/bin/sh', '-c', training.PRUNE_FUNCTION + '; prune "$@"', 'sh',
                            str(tmp_path / 'missing'), 'lstm', '3']) == 0


def test_wrapper_prunes_while_and_after_the_trainer_runs(tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    # writes five checkpoints, the third the best, then exits
    script = _fake_trainer(tmp_path / 'fake-trainer', 'for l in 1.9 1.5 1.1 1.4 1.3; do touch "cv/lm_lstm_epoch$l.00_$l.t7"; '
                           'sleep 0.3; done\n')
    log = tmp_path / 'train.log'
    argv = training.build_wrapper(str(tmp_path), [str(script)], common.thread_env(1), str(log),
                                  str(log) + '.pid', keep=1, checkpoint_dir=str(cv), savefile='lstm',
                                  prune_every=1)
    subprocess.check_call(argv)
    assert sorted(os.listdir(str(cv))) == ['lm_lstm_epoch1.1.00_1.1.t7', 'lm_lstm_epoch1.3.00_1.3.t7']
    assert log.read_text().splitlines()[-1] == '[charrnn] run ended: exit status 0'


class _Clock:
    """A clock that a sleeper advances; the log grows with the time that passes."""

    def __init__(self, log, script):
        self.now = 0.0
        self.log = log
        self.script = list(script)  # (time, text to append)

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        while self.script and self.script[0][0] <= self.now:
            with open(str(self.log), 'a') as f:
                f.write(self.script.pop(0)[1])


LOADING = ('loading data files...\t\nvocab size: 65\t\ncreating an lstm with 2 layers\t\n'
           'number of parameters in the model: 240321\t\ncloning rnn\t\ncloning criterion\t\n')
ITERATION = '1/21150 (epoch 0.002), train_loss = 4.19766416, grad/param norm = 5.1e-01, time/batch = 0.2201s\t\n'


def _waiting(tmp_path, monkeypatch, script, alive=True, timeout=30):
    log = tmp_path / 'train.log'
    log.write_text('old run\t\n' + ITERATION + '[charrnn] run started 2026 session=s: th train.lua\n')
    offset = log.stat().st_size - len('[charrnn] run started 2026 session=s: th train.lua\n')
    clock = _Clock(log, script)
    monkeypatch.setattr(training.screen, 'pid_alive', lambda pid: alive if not callable(alive) else alive(clock.now))
    return training.wait_until_trained(str(log), offset, 4242, timeout, clock=clock.clock, sleeper=clock.sleep,
                                       poll=0.5), clock


def test_started_means_a_first_iteration(tmp_path, monkeypatch):
    seen, clock = _waiting(tmp_path, monkeypatch, [(1, LOADING), (10, ITERATION)])
    assert seen['outcome'] == 'training' and seen['summary']['iteration'] == 1
    assert 10 <= clock.now < 11  # loading alone is not training; an earlier run's iteration does not count


def test_a_trainer_that_dies_while_loading_has_ended(tmp_path, monkeypatch):
    assert_line = ('/opt/torch/install/bin/luajit: train.lua:137: error, the character vocabulary for this dataset '
                   'and the one in the saved checkpoint are not the same. This is trouble.\n')
    seen, clock = _waiting(tmp_path, monkeypatch, [(1, LOADING), (2, assert_line + 'stack traceback:\n'),
                                                   (2.5, '[charrnn] run ended: exit status 1\n')],
                           alive=lambda now: now < 2.2)
    assert seen['outcome'] == 'ended' and seen['exit_status'] == 1
    assert seen['summary']['phase'] == 'error' and any('train.lua:137' in x for x in seen['tail'])


def test_a_trainer_gone_without_an_end_line_has_ended_after_a_grace(tmp_path, monkeypatch):
    seen, clock = _waiting(tmp_path, monkeypatch, [(1, LOADING)], alive=lambda now: now < 2)
    assert seen['outcome'] == 'ended' and seen['exit_status'] is None
    assert 5 <= clock.now < 6


def test_a_trainer_still_loading_at_the_timeout(tmp_path, monkeypatch):
    seen, clock = _waiting(tmp_path, monkeypatch, [(1, LOADING)], timeout=30)
    assert seen['outcome'] == 'timeout' and seen['summary']['phase'] == 'starting'
    assert seen['tail'][-1] == 'cloning criterion'


def test_a_checkpoint_or_an_evaluation_is_training_too(tmp_path, monkeypatch):
    seen, clock = _waiting(tmp_path, monkeypatch, [(1, LOADING + 'evaluating loss over split index 2\t\n')])
    assert seen['outcome'] == 'training'
    assert training.has_trained({'iteration': None, 'last_checkpoint': 'cv/x.t7', 'phase': 'saving'})
    assert not training.has_trained({'iteration': None, 'last_checkpoint': None, 'phase': 'starting'})
