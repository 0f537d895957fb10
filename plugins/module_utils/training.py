# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""A training run as the modules see it: the screen session, the trainer
process, its log and its checkpoints; and the wrapper that starts it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import time

try:
    from shlex import quote
except ImportError:  # pragma: no cover - Python 2 only
    from pipes import quote

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import checkpoints as ckpt
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import common
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import trainlog

RUN_END_PREFIX = common.RUN_END_PREFIX
RUN_END_RE = re.compile(r'^\[charrnn\] run ended: exit status (\d+)')
LOG_TAIL_LINES = 20


# Keeps the `keep` most recently written checkpoints of a savefile (and its later runs) and the one
# with the lowest validation loss; deletes the others. The newest file, which may still be being
# written, is always among those kept. Arguments: directory, savefile, keep.
PRUNE_FUNCTION = r"""prune() {
  ( cd "$1" 2>/dev/null || exit 0
    ls -1t -- lm_"$2"_epoch*.t7 lm_"$2".run*_epoch*.t7 2>/dev/null > .charrnn-prune.list || true
    best=$(sed -n 's/^\(.*_\([0-9][0-9.]*\)\.t7\)$/\2 \1/p' .charrnn-prune.list | sort -g | head -n 1 | cut -d' ' -f2-)
    tail -n +"$(($3 + 1))" .charrnn-prune.list | while IFS= read -r name; do
      [ "$name" = "$best" ] || rm -f -- "$name"
    done
    rm -f .charrnn-prune.list )
}"""


def build_wrapper(chdir, argv, env, log_path, pid_file, stdbuf=None, shell='/bin/sh', keep=0,
                  checkpoint_dir=None, savefile=None, prune_every=60):
    """argv (for `screen -dmS <session> ...`) of the shell that runs the trainer.

    The inner shell writes its pid, then execs env/stdbuf/th, so the pid in
    pid_file is the trainer's.  Output (stdout and stderr, line-buffered via
    stdbuf when available) goes through tee: appended to the log and shown
    in the screen window.  When the trainer ends, a last line records its
    exit status.  With keep > 0, a background loop prunes the checkpoints of
    savefile in checkpoint_dir every prune_every seconds and once at the end
    (PRUNE_FUNCTION), so that a run of days cannot fill the disk.
    """
    inner_cmd = ['exec', 'env'] + ['%s=%s' % (k, env[k]) for k in sorted(env)]
    if stdbuf:
        inner_cmd += [stdbuf, '-oL', '-eL']
    inner_cmd += list(argv)
    inner = 'echo $$ > %s; %s' % (quote(pid_file), ' '.join(quote(a) for a in inner_cmd))
    run = '{ %s -c %s; echo "%s $?"; } 2>&1 | tee -a %s >/dev/null' % (
        quote(shell), quote(inner), RUN_END_PREFIX, quote(log_path))
    if keep and keep > 0:
        prune_args = '%s %s %d' % (quote(checkpoint_dir), quote(savefile), int(keep))
        run = ('%s; ( while sleep %d; do prune %s; done ) & pruner=$!; %s; kill $pruner 2>/dev/null; prune %s'
               % (PRUNE_FUNCTION, int(prune_every), prune_args, run, prune_args))
    outer = 'cd %s || exit 1; %s' % (quote(chdir), run)
    return [shell, '-c', outer]


def run_marker(session, argv):
    return '%s %s session=%s: %s' % (
        common.RUN_MARKER, time.strftime('%Y-%m-%dT%H:%M:%S%z'), session, ' '.join(quote(a) for a in argv))


def exit_status(lines):
    """The trainer's exit status from the wrapper's last line, or None."""
    for line in reversed(lines):
        m = RUN_END_RE.match(line)
        if m:
            return int(m.group(1))
    return None


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
        log = trainlog.read_log(log_path, offset)
        summary = trainlog.summarize(log['lines'], log['head'])
        code = exit_status(log['lines'])
        outcome = None
        failed = summary['phase'] in ('error', 'nan', 'exploding')
        if code is not None:
            outcome = 'ended'
        elif has_trained(summary) and not failed:
            outcome = 'training'
        elif failed or not screen.pid_alive(pid):
            # give the wrapper a moment to log the exit status
            gone_since = gone_since if gone_since is not None else clock()
            if clock() - gone_since >= end_grace:
                outcome = 'ended'
        elif clock() >= deadline:
            outcome = 'timeout'
        if outcome:
            return {'outcome': outcome, 'summary': summary, 'exit_status': code,
                    'tail': trainlog.tail(log['lines'], LOG_TAIL_LINES)}
        sleeper(poll)


def trainer_pid(log_path, state=None):
    """The pid of this log's trainer when it is alive and runs train.lua."""
    if state is None:
        state = common.read_state(log_path)
    for pid in (common.read_pid_file(common.pid_path(log_path)), state.get('pid')):
        if pid and screen.is_script_process(pid, 'train.lua'):
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
                 settle=ckpt.DEFAULT_SETTLE, stat_pause=ckpt.DEFAULT_STAT_PAUSE,
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
        return screen.find_sessions(self.screen_bin, self.session, self.runner)

    def look(self):
        state = common.read_state(self.log_path)
        pid = trainer_pid(self.log_path, state)
        sessions = self._sessions()
        session_alive = any(s['alive'] for s in sessions)
        running = session_alive or pid is not None
        log = trainlog.read_log(self.log_path, state.get('log_offset'))
        summary = trainlog.summarize(log['lines'], log['head'])
        code = exit_status(log['lines'])
        entries = ckpt.list_checkpoints(self.checkpoint_dir, self.savefile)
        complete, in_progress = ckpt.classify(
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
    return trainlog.tail(observation['log_lines'], n)

