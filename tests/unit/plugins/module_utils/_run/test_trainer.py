# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import trainer as _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log


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
    # early stopping ended it: with the prelude (exit 0 after its checkpoint) or without (SIGTERM's 143)
    ({'phase': 'training', 'iteration': 31, 'stopped_on': 'SIGTERM', 'early_stop': {'iteration': 30}},
     False, True, 0, 'finished'),
    ({'phase': 'training', 'iteration': 30, 'early_stop': {'iteration': 30}}, False, True, 143, 'finished'),
    ({'phase': 'training', 'iteration': 30, 'early_stop': {'iteration': 30}}, True, True, None, 'training'),
    # killed on the way out, or a crash, is not a finished run
    ({'phase': 'training', 'iteration': 30, 'early_stop': {'iteration': 30}}, False, True, 137, 'stopped'),
    ({'phase': 'error', 'iteration': 30, 'early_stop': {'iteration': 30}}, False, True, 1, 'error'),
])
def test_status_of(summary, running, exists, code, expected):
    assert _trainer.status_of(summary, running, exists, code) == expected


def _write_log(path, lines, marker=True):
    with open(path, 'w') as f:
        if marker:
            f.write('%s test\n' % _log.RUN_MARKER)
        for line in lines:
            f.write(line + '\n')


def test_look_without_a_trainer(tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    log = _paths.default_log_path(str(cv), 's')
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
    obs = _trainer.Trainer(str(cv), 'lstm', 's', log, screen_bin='screen', runner=runner,
                           sleeper=lambda s: None).look()
    assert calls and obs['running'] is False
    assert [e['name'] for e in obs['complete']] == [a.name, b.name]
    t = obs['training']
    assert t['status'] == 'finished' and t['exit_status'] == 0 and t['vocab_size'] == 10
    assert t['pid'] is None and t['session_alive'] is False
    assert 'saves' not in t


def test_look_with_a_live_session_sees_in_progress(tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    log = _paths.default_log_path(str(cv), 's')
    b = cv / 'lm_lstm_epoch1.00_1.5000.t7'
    b.write_text('partial')
    _write_log(log, ['saving checkpoint to cv/lm_lstm_epoch1.00_1.5000.t7\t'])

    def runner(argv, env_update=None, cwd=None):
        return 0, 'There is a screen on:\n\t123.s\t(Detached)\n1 Socket in /run/screen/S-root.\n', ''
    obs = _trainer.Trainer(str(cv), 'lstm', 's', log, screen_bin='screen', runner=runner).look()
    assert obs['running'] is True
    assert obs['complete'] == [] and [e['name'] for e in obs['in_progress']] == [b.name]
    assert obs['training']['status'] == 'saving'


def test_status_is_the_one_running_decision(tmp_path):
    """A live session is a running run; its trainer's pid, when no pid file names it, is looked for under
    the session only when asked (the train module stops and reports it; the readers need not)."""
    log = str(tmp_path / 'x.log')
    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', 'train.lua'])
    try:
        end = time.time() + 10
        while time.time() < end and not _processes.is_script_process(child.pid, 'train.lua'):
            time.sleep(0.02)

        def runner(argv, env_update=None, cwd=None):
            # this test process plays the screen session the trainer runs under
            return 0, 'There is a screen on:\n\t%d.s\t(Detached)\n1 Socket in /run/screen/S-root.\n' % os.getpid(), ''
        trainer = _trainer.Trainer(str(tmp_path), 'lstm', 's', log, screen_bin='screen', runner=runner)
        status = trainer.status()
        assert status['running'] is True and status['pid'] is None and len(status['alive']) == 1
        assert trainer.status(search_sessions=True)['pid'] == child.pid
        assert trainer.look()['running'] is True

        def no_session(argv, env_update=None, cwd=None):
            return 1, 'No Sockets found in /run/screen/S-root.\n', ''
        alone = _trainer.Trainer(str(tmp_path), 'lstm', 's', log, screen_bin='screen', runner=no_session)
        assert alone.status(search_sessions=True)['running'] is False
        with open(_paths.pid_path(log), 'w') as f:
            f.write('%d\n' % child.pid)
        status = alone.status()
        assert status['running'] is True and status['pid'] == child.pid
    finally:
        child.kill()
        child.wait()


def test_trainer_pid_requires_train_lua_cmdline(tmp_path):
    log = str(tmp_path / 'x.log')
    with open(_paths.pid_path(log), 'w') as f:
        f.write('%d\n' % os.getpid())  # alive, but not a train.lua process
    assert _trainer.trainer_pid(log, {}) is None
    _state.write_state(log, {'pid': os.getpid()})
    assert json.load(open(_paths.state_path(log)))['pid'] == os.getpid()
    assert _trainer.trainer_pid(log) is None


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
    monkeypatch.setattr(_processes, 'pid_alive', lambda pid: alive if not callable(alive) else alive(clock.now))
    return _trainer.wait_until_trained(str(log), offset, 4242, timeout, clock=clock.clock, sleeper=clock.sleep,
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
    assert _trainer.has_trained({'iteration': None, 'last_checkpoint': 'cv/x.t7', 'phase': 'saving'})
    assert not _trainer.has_trained({'iteration': None, 'last_checkpoint': None, 'phase': 'starting'})


def test_stop_quits_a_session_that_outlives_its_trainer_on_the_given_clock(tmp_path, fake_clock):
    calls = []

    def runner(argv, env_update=None, cwd=None):
        calls.append(argv)
        # a session that no longer exists as a process, yet screen keeps listing alive
        return 0, 'There is a screen on:\n\t999999999.s\t(Detached)\n1 Socket in /run/screen/S-root.\n', ''
    trainer = _trainer.Trainer(str(tmp_path), 'lstm', 's', str(tmp_path / 'x.log'), screen_bin='screen',
                               runner=runner, clock=fake_clock.clock, sleeper=fake_clock.sleep)
    assert trainer.stop(trainer.status(), grace=10) == []
    assert ['screen', '-S', '999999999.s', '-X', 'quit'] in calls
    assert fake_clock.now == 1000 + 5  # no trainer to wait for: only the wait for screen to quit
