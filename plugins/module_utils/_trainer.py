# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""A training run as the modules see it: the screen session, the trainer process, its log and its
checkpoints."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _run_state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _trainlog

LOG_TAIL_LINES = 20


def has_trained(summary):
    """The run is past loading: it logged an iteration, an evaluation or a checkpoint."""
    return (summary.get('iteration') is not None or summary.get('last_checkpoint') is not None
            or summary.get('phase') == 'evaluating')


def wait_until_trained(log_path, offset, pid, timeout, clock=time.time, sleeper=time.sleep, poll=0.2,
                       end_grace=3.0):
    """Waits until the run that starts at `offset` of the log has trained (has_trained), has ended, or
    `timeout` seconds have passed.

    Returns a dict: outcome ('training', 'ended' or 'timeout'), summary, exit_status and tail (the last
    lines of the run's log). A trainer that logged a Lua error, a NaN or an exploding loss counts as
    ended, as does one whose process is gone (after up to end_grace seconds for the wrapper's end line).
    """
    deadline = clock() + timeout
    gone_since = None
    while True:
        log = _trainlog.read_log(log_path, offset)
        summary = _trainlog.summarize(log['lines'], log['head'])
        code = _trainlog.exit_status(log['lines'])
        outcome = None
        failed = summary['phase'] in ('error', 'nan', 'exploding')
        if code is not None:
            outcome = 'ended'
        elif has_trained(summary) and not failed:
            outcome = 'training'
        elif failed or not _processes.pid_alive(pid):
            # give the wrapper a moment to log the exit status
            gone_since = gone_since if gone_since is not None else clock()
            if clock() - gone_since >= end_grace:
                outcome = 'ended'
        elif clock() >= deadline:
            outcome = 'timeout'
        if outcome:
            return {'outcome': outcome, 'summary': summary, 'exit_status': code,
                    'tail': _trainlog.tail(log['lines'], LOG_TAIL_LINES)}
        sleeper(poll)


def trainer_pid(log_path, state=None):
    """The pid of this log's trainer when it is alive and runs train.lua."""
    if state is None:
        state = _run_state.read_state(log_path)
    for pid in (_run_state.read_pid_file(_paths.pid_path(log_path)), state.get('pid')):
        if pid and _processes.is_script_process(pid, 'train.lua'):
            return pid
    return None


def status_of(summary, running, log_exists, exit_code=None):
    """One word for the run: running phases, or how it ended."""
    phase = summary.get('phase')
    if running:
        if not log_exists:
            return 'running'
        return 'training' if phase == 'last_iteration' else phase
    if not log_exists:
        return 'not_started'
    if phase in ('nan', 'exploding', 'error'):
        return phase
    if exit_code not in (None, 0):
        # 128 + SIGTERM or SIGKILL: stopped from outside (stop, kill, the OOM killer), not a crash.
        return 'stopped' if exit_code in (143, 137) else 'error'
    if phase == 'last_iteration':
        return 'finished'
    if summary.get('iteration') is None:
        return 'ended_without_training'
    return 'stopped'


class Observer:
    """Looks at a training run: session, trainer, log, checkpoints.

    runner (see screen.module_runner) runs `screen -ls`; without screen_bin
    or runner only the trainer pid tells whether the run is alive.
    """

    def __init__(self, checkpoint_dir, savefile, session, log_path, screen_bin=None,
                 settle=_checkpoints.DEFAULT_SETTLE, stat_pause=_checkpoints.DEFAULT_STAT_PAUSE,
                 clock=time.time, sleeper=time.sleep, runner=None):
        self.checkpoint_dir = checkpoint_dir
        self.savefile = savefile
        self.session = session
        self.log_path = log_path
        self.screen_bin = screen_bin
        self.settle = settle
        self.stat_pause = stat_pause
        self.clock = clock
        self.sleeper = sleeper
        self.runner = runner

    def _sessions(self):
        if not self.screen_bin or self.runner is None:
            return []
        return _screen.find_sessions(self.screen_bin, self.session, self.runner)

    def look(self):
        state = _run_state.read_state(self.log_path)
        pid = trainer_pid(self.log_path, state)
        sessions = self._sessions()
        session_alive = any(s['alive'] for s in sessions)
        running = session_alive or pid is not None
        log = _trainlog.read_log(self.log_path, state.get('log_offset'))
        summary = _trainlog.summarize(log['lines'], log['head'])
        code = _trainlog.exit_status(log['lines'])
        entries = _checkpoints.list_checkpoints(self.checkpoint_dir, self.savefile)
        complete, in_progress = _checkpoints.classify(
            entries, summary['saves'], running, now=self.clock(), settle=self.settle,
            stat_pause=self.stat_pause, sleeper=self.sleeper, abandoned=log['exists'] and code != 0)
        training = dict((k, v) for k, v in summary.items() if k != 'saves')
        training.update({
            'running': running,
            'session': self.session,
            'session_alive': session_alive,
            'pid': pid,
            'log_path': self.log_path,
            'log_exists': log['exists'],
            'exit_status': code,
            'status': status_of(summary, running, log['exists'], code),
        })
        return {
            'state': state,
            'running': running,
            'training': training,
            'complete': complete,
            'in_progress': in_progress,
            'log_lines': log['lines'],
        }


def log_tail(observation, n=LOG_TAIL_LINES):
    return _trainlog.tail(observation['log_lines'], n)

