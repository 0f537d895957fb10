# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The lifecycle of a training run: its screen session, the trainer process, its log, state and
checkpoints; whether it runs, where it would resume, whether it finished; starting and stopping it.

The train, checkpoint and sample modules all look at a run through Trainer, so that "is it running"
is decided in one place (Trainer.status).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fcntl
import os
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import checkpoints as _checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import screen as _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import waiter as _waiter
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import wrapper as _wrapper

LOG_TAIL_LINES = 20
# Seconds a new trainer has to write its pid file and exec train.lua (its first iteration has the
# startup_timeout option's).
PID_TIMEOUT = 15.0
# Seconds the wrapper of a trainer that is gone has to log its exit status.
END_LINE_TIMEOUT = 3.0


class TrainerError(Exception):
    """A start that failed: msg says what happened, details go into the task result."""

    def __init__(self, msg, **details):
        Exception.__init__(self, msg)
        self.msg = msg
        self.details = details


class Lock:
    """fcntl.flock on the per-user, per-session lock file."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        _files.makedirs(os.path.dirname(self.path), 0o700)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0)
        self.fd = os.open(self.path, flags, 0o600)
        st = os.fstat(self.fd)
        if st.st_uid != os.getuid():
            os.close(self.fd)
            raise OSError('lock file %s belongs to uid %d, not to this user (uid %d): remove it'
                          % (self.path, st.st_uid, os.getuid()))
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


def has_trained(summary):
    """The run is past loading: it logged an iteration, an evaluation or a checkpoint."""
    return (summary.get('iteration') is not None or summary.get('last_checkpoint') is not None
            or summary.get('phase') == 'evaluating')


def wait_until_trained(log_path, offset, pid, timeout, clock=time.monotonic, sleeper=time.sleep, poll=0.2,
                       end_grace=END_LINE_TIMEOUT):
    """Waits until the run that starts at `offset` of the log has trained (has_trained), has ended, or
    `timeout` seconds have passed.

    Returns a dict: outcome ('training', 'ended' or 'timeout'), summary, exit_status and tail (the last
    lines of the run's log). A trainer that logged a Lua error, a NaN or an exploding loss counts as
    ended, as does one whose process is gone (after up to end_grace seconds for the wrapper's end line,
    or the timeout, whichever comes first).
    """
    gone_since = []

    def look():
        log = _log.read_log(log_path, offset)
        summary = _log.summarize(log['lines'], log['head'])
        code = _log.exit_status(log['lines'])
        seen = {'summary': summary, 'exit_status': code, 'tail': _log.tail(log['lines'], LOG_TAIL_LINES)}
        failed = summary['phase'] in ('error', 'nan', 'exploding')
        if code is not None:
            return _waiter.DONE, dict(seen, outcome='ended')
        if has_trained(summary) and not failed:
            return _waiter.DONE, dict(seen, outcome='training')
        if failed or not _processes.pid_alive(pid):
            # give the wrapper a moment to log the exit status
            gone_since[:] = gone_since or [clock()]
            if clock() - gone_since[0] >= end_grace:
                return _waiter.DONE, dict(seen, outcome='ended')
        return _waiter.WAIT, dict(seen, outcome='ended' if gone_since else 'timeout')

    return _waiter.wait_for(look, timeout, poll, clock, sleeper)['value']


def trainer_pid(log_path, state=None):
    """The pid of this log's trainer when it is alive and runs train.lua."""
    if state is None:
        state = _state.read_state(log_path)
    for pid in (_state.read_pid_file(_paths.pid_path(log_path)), state.get('pid')):
        if pid and _processes.is_script_process(pid, 'train.lua'):
            return pid
    return None


def early_stopped(summary, exit_code):
    """The early-stopping watcher ended the run and the trainer went: with the prelude it saves and exits 0,
    without it SIGTERM ends train.lua (128 + 15) after the checkpoints that count were saved."""
    return bool(summary.get('early_stop')) and exit_code in (0, 143)


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
    if early_stopped(summary, exit_code):
        return 'finished'
    if exit_code not in (None, 0):
        # 128 + SIGTERM or SIGKILL: stopped from outside (stop, kill, the OOM killer), not a crash.
        return 'stopped' if exit_code in (143, 137) else 'error'
    if phase == 'last_iteration':
        return 'finished'
    if summary.get('iteration') is None:
        return 'ended_without_training'
    return 'stopped'


class Trainer:
    """One training run: the trainer of `savefile` writing into checkpoint_dir, in screen session
    `session`, logging to log_path.

    runner (see _screen.module_runner) runs screen; without screen_bin or runner only the trainer
    pid tells whether the run is alive, and the run can be looked at but not started or stopped.
    """

    def __init__(self, checkpoint_dir, savefile, session, log_path, screen_bin=None, runner=None,
                 settle=_checkpoints.DEFAULT_SETTLE, stat_pause=_checkpoints.DEFAULT_STAT_PAUSE,
                 clock=time.monotonic, sleeper=time.sleep):
        self.checkpoint_dir = checkpoint_dir
        self.savefile = savefile
        self.session = session
        self.log_path = log_path
        self.screen_bin = screen_bin
        self.runner = runner
        self.settle = settle
        self.stat_pause = stat_pause
        self.clock = clock
        self.sleeper = sleeper

    def lock(self):
        """The per-user, per-session lock that guards check-and-start (a context manager)."""
        return Lock(_paths.lock_path(self.session))

    def sessions(self):
        """The screen sessions of this name (screen allows duplicates), alive or dead."""
        if not self.screen_bin or self.runner is None:
            return []
        return _screen.find_sessions(self.screen_bin, self.session, self.runner)

    def status(self, search_sessions=False):
        """Whether the run is alive: its screen session, or its trainer.

        Returns {sessions, alive (the live sessions), pid, state (the train module's record), running}.
        The trainer's pid comes from the pid file or the state; with search_sessions, a trainer found
        under a live session (one this module did not start) counts as well.
        """
        sessions = self.sessions()
        alive = [s for s in sessions if s['alive']]
        state = _state.read_state(self.log_path)
        pid = trainer_pid(self.log_path, state)
        if pid is None and search_sessions:
            for s in alive:
                pids = _processes.trainer_pids_under(s['pid'])
                if pids:
                    pid = pids[0]
                    break
        return {'sessions': sessions, 'alive': alive, 'pid': pid, 'state': state,
                'running': bool(alive) or pid is not None}

    def _run_log(self, state):
        """The log of the run the state records: from the offset where it started, so that an earlier
        run's lines in the same log never count for this one."""
        return _log.read_log(self.log_path, state.get('log_offset'))

    def look(self):
        """The run as the checkpoint and sample modules report it: status, progress, checkpoints."""
        status = self.status()
        state, running, pid = status['state'], status['running'], status['pid']
        log = self._run_log(state)
        summary = _log.summarize(log['lines'], log['head'])
        code = _log.exit_status(log['lines'])
        entries = _checkpoints.list_checkpoints(self.checkpoint_dir, self.savefile)
        complete, in_progress = _checkpoints.classify(
            entries, summary['saves'], running, settle=self.settle,
            stat_pause=self.stat_pause, sleeper=self.sleeper, abandoned=log['exists'] and code != 0)
        training = dict((k, v) for k, v in summary.items() if k != 'saves')
        training.update({
            'running': running,
            'session': self.session,
            'session_alive': bool(status['alive']),
            'pid': pid,
            'log_path': self.log_path,
            'log_exists': log['exists'],
            'log_size': log['size'],
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
            'log_head': log.get('head'),
        }

    def resume_point(self, trainer_running=False):
        """(latest complete checkpoint to resume from or None, paths of truncated checkpoints).

        When the trainer is not running, every checkpoint with a stable size
        counts as complete; but one whose "saving checkpoint to" line was the
        last thing a trainer said before it died without exiting 0 (killed,
        crashed, or gone with the host, leaving no end line) may be truncated.
        """
        log = self._run_log(_state.read_state(self.log_path))
        saves = _log.saved_checkpoints(log['lines'])
        code = _log.exit_status(log['lines'])
        entries = _checkpoints.list_checkpoints(self.checkpoint_dir, self.savefile)
        complete, suspect = _checkpoints.classify(entries, saves, trainer_running=trainer_running,
                                                  abandoned=log['exists'] and code != 0 and not trainer_running)
        last = _checkpoints.latest(complete)
        return (last['path'] if last else None), [e['path'] for e in suspect]

    def finished(self, base_command, env):
        """The recorded state of the log's last run when it trained all its iterations and exited 0, or early
        stopping ended it, and it was started with this command and thread settings, in either precision and
        on any OpenBLAS core (the model is trained; those only made it faster); else None. The state then
        carries early_stop, the watcher's decision, or None."""
        state = _state.read_state(self.log_path)
        if not state or not _threads.same_settings(state.get('env'), env) or \
                _precision.native_argv(state.get('base_command')) != _precision.native_argv(base_command):
            return None
        log = self._run_log(state)
        code = _log.exit_status(log['lines'])
        summary = _log.summarize(log['lines'], head=log.get('head'))
        if early_stopped(summary, code):
            return dict(state, early_stop=summary['early_stop'])
        return dict(state, early_stop=None) if code == 0 and summary.get('phase') == 'last_iteration' else None

    def stop(self, status, grace):
        """End trainer(s) and session(s) (SIGTERM, SIGKILL after grace seconds); returns the trainer pids."""
        screen_bin, session, runner = self.screen_bin, self.session, self.runner
        pids = set()
        if status['pid']:
            pids.add(status['pid'])
        for s in status['sessions']:
            pids.update(_processes.trainer_pids_under(s['pid']))
        pids = sorted(pids)
        _processes.terminate(pids, grace=float(grace), clock=self.clock, sleeper=self.sleeper)

        def session_gone():
            return not _screen.session_alive(screen_bin, session, runner)

        if pids:
            # Without its trainer the wrapper ends by itself, after logging the exit
            # status; give it a moment before quitting the session (which would HUP it).
            _waiter.wait_until(session_gone, END_LINE_TIMEOUT, 0.05, self.clock, self.sleeper)
        for s in _screen.find_sessions(screen_bin, session, runner):
            if s['alive']:
                _screen.quit_session(screen_bin, s['id'], runner)
        _waiter.wait_until(session_gone, 5, 0.1, self.clock, self.sleeper)
        left = [s for s in _screen.find_sessions(screen_bin, session, runner) if s['alive']]
        if left:
            # screen did not quit: end it and whatever runs under it
            under = []
            for s in left:
                under.extend(_processes.descendants(s['pid']))
            _processes.terminate([s['pid'] for s in left] + under, grace=2.0, clock=self.clock, sleeper=self.sleeper)
        if any(not s['alive'] for s in _screen.find_sessions(screen_bin, session, runner)):
            _screen.wipe(screen_bin, runner)
        self.mark_stopped()
        return pids

    def mark_stopped(self):
        """Records that the run was stopped on purpose (its unit then leaves it down)."""
        state = _state.read_state(self.log_path)
        if state:
            state['stopped_at'] = time.strftime('%Y-%m-%dT%H:%M:%S%z')
            state['pid'] = None
            try:
                _state.write_state(self.log_path, state)
            except (IOError, OSError):
                pass
        try:
            os.unlink(_paths.pid_path(self.log_path))
        except OSError:
            pass

    @staticmethod
    def set_aside(paths):
        """Renames truncated checkpoints to <name>.incomplete, so that nothing lists or samples them."""
        moved = []
        for path in paths:
            try:
                os.rename(path, path + '.incomplete')
                moved.append(path + '.incomplete')
            except OSError:
                pass
        return moved

    def start(self, chdir, argv, record, env, stdbuf=None, keep=0, startup_timeout=300, exec_prefix=None,
              helpers=None, after=None, lineage=None):
        """Start the wrapper in screen, find the trainer's pid and wait until it trains.

        exec_prefix runs before argv in the trainer's process, helpers beside it, after once it has ended (see
        _wrapper.build_wrapper).

        record: what the state file keeps of the run besides what start knows (base_command,
        checkpoint_dir, data_dir, resumed_from). lineage: the savefiles of the model's runs, whose
        checkpoints keep prunes together (default: savefile's alone). Returns (pid, warnings); raises TrainerError when the
        trainer cannot start, ends before it trained, or has not trained within startup_timeout seconds
        (then it keeps running).
        """
        log_path = self.log_path
        _files.makedirs(self.checkpoint_dir)
        _files.makedirs(os.path.dirname(log_path))
        pid_file = _paths.pid_path(log_path)
        try:
            os.unlink(pid_file)
        except OSError:
            pass
        offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        with open(log_path, 'a') as f:
            if offset:
                f.write('\n')
                offset += 1
            f.write(_log.run_marker(self.session, argv) + '\n')
        state = {
            'session': self.session,
            'command': argv,
            'base_command': record['base_command'],
            'env': env,
            'chdir': chdir,
            'checkpoint_dir': record['checkpoint_dir'],
            'checkpoint_dir_abs': self.checkpoint_dir,
            'data_dir': record['data_dir'],
            'log_path': log_path,
            'log_offset': offset,
            'resumed_from': record['resumed_from'],
            'early_stopping': record.get('early_stopping'),
            'lineage': lineage or [self.savefile],
            'started_at': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
            'pid': None,
            'uid': os.getuid(),
        }
        _state.write_state(log_path, state)
        warnings = []
        if not stdbuf:
            warnings.append('stdbuf (coreutils) not found: the trainer output is block-buffered, the log may lag')
        wrapper = _wrapper.build_wrapper(chdir, argv, env, log_path, pid_file, stdbuf=stdbuf, keep=keep,
                                         checkpoint_dir=self.checkpoint_dir, lineage=lineage or [self.savefile],
                                         exec_prefix=exec_prefix, helpers=helpers, after=after)
        rc, err = _screen.start_session(self.screen_bin, self.session, wrapper, self.runner, cwd=chdir)
        if rc != 0:
            raise TrainerError('screen failed to start session %s (rc %d): %s' % (self.session, rc, err.strip()),
                               command=argv)

        def trainer_came_up():
            cand = _state.read_pid_file(pid_file)
            if cand and _processes.is_script_process(cand, 'train.lua'):
                return _waiter.DONE, cand
            if cand and not _processes.pid_alive(cand):
                return _waiter.FAIL, None
            return _waiter.WAIT, None

        pid = _waiter.wait_for(trainer_came_up, PID_TIMEOUT, 0.05, self.clock, self.sleeper)['value']
        state['pid'] = pid
        _state.write_state(log_path, state)
        if pid is None:
            # The trainer is gone already (or never came up): look at what it said.
            def end_line_logged():
                log = _log.read_log(log_path, offset)
                return (_waiter.WAIT if _log.exit_status(log['lines']) is None else _waiter.DONE), log

            log = _waiter.wait_for(end_line_logged, END_LINE_TIMEOUT, 0.1, self.clock, self.sleeper)['value']
            summary = _log.summarize(log['lines'], log['head'])
            code = _log.exit_status(log['lines'])
            tail = _log.tail(log['lines'], LOG_TAIL_LINES)
            if summary['phase'] in ('error', 'nan', 'exploding') or code not in (None, 0):
                raise TrainerError('the trainer ended before it trained (status %s, %s); last log lines (%s):\n%s'
                                   % (code, summary['phase'], log_path, '\n'.join(tail)),
                                   command=argv, log_path=log_path, log_tail=tail, exit_status=code)
            if code is None:
                raise TrainerError('the trainer did not come up within %ds; last log lines:\n%s'
                                   % (PID_TIMEOUT, '\n'.join(tail)), command=argv, log_path=log_path,
                                   log_tail=tail)
            warnings.append('the trainer already exited (status %s) after %s iteration(s); see %s'
                            % (code, summary['iteration'] or 0, log_path))
            return pid, warnings
        warnings.extend(self._wait_until_training(pid, argv, offset, startup_timeout))
        return pid, warnings

    def _wait_until_training(self, pid, argv, offset, startup_timeout):
        """Returns once the new trainer has trained (warnings), or raises TrainerError with the log tail."""
        log_path = self.log_path
        seen = wait_until_trained(log_path, offset, pid, startup_timeout, clock=self.clock, sleeper=self.sleeper)
        summary, code, tail = seen['summary'], seen['exit_status'], seen['tail']
        details = dict(command=argv, log_path=log_path, log_tail=tail, exit_status=code, pid=pid)
        if seen['outcome'] == 'timeout':
            raise TrainerError(
                'the trainer (pid %d) has not logged a first iteration within %ds (startup_timeout): '
                'it is still %s. It keeps running in screen session %s; raise startup_timeout for a '
                'large corpus or print_every, or stop it with state=stopped. Last log lines (%s):\n%s'
                % (pid, startup_timeout, 'loading' if summary['phase'] == 'starting' else summary['phase'],
                   self.session, log_path, '\n'.join(tail)),
                running=True, **details)
        if seen['outcome'] == 'ended':
            if summary['phase'] in ('error', 'nan', 'exploding') or code not in (None, 0) \
                    or not has_trained(summary):
                raise TrainerError('the trainer ended before it trained (status %s, %s); last log lines (%s):\n%s'
                                   % (code, summary['phase'], log_path, '\n'.join(tail)), running=False, **details)
            return ['the trainer already exited (status %s) after %s iteration(s); see %s'
                    % (code, summary['iteration'] or 0, log_path)]
        return []


def log_tail(observation, n=LOG_TAIL_LINES):
    return _log.tail(observation['log_lines'], n)
