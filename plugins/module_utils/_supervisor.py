# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The process of a run's systemd unit (see _supervision):

    python -m ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._supervisor <params.json>

It runs the train module's plan with the options the module recorded and state=started, under the same
lock as the module: a run that already runs is kept (whoever started it), a finished one or one stopped
with state=stopped stays down, anything else starts in its screen session, resuming by the module's
rules. Then it waits for the trainer and exits 0 when it ended well (finished, or stopped and saved) and
1 when it did not, which the unit's Restart=on-failure turns into a restart.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import notifications as _notifications
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import supervision as _supervision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import trainer as _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _train_manager
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import waiter as _waiter

WATCH_SECONDS = 2.0
# After the trainer: the wrapper logs its exit, runs the notifier and prunes before the session ends.
WRAPPER_END_SECONDS = 60.0
# Why the unit starts a run, as the record of the run says it.
AFTER_BOOT = 'systemd, after a restart of the host'
AFTER_FAILURE = 'systemd, after the trainer failed'
ON_REQUEST = 'systemd'


class Done(Exception):
    """The end of the train module's run: exit_json or fail_json."""

    def __init__(self, result, failed):
        Exception.__init__(self, result.get('msg', ''))
        self.result = result
        self.failed = failed


class SupervisorModule:
    """What TrainManager uses of an AnsibleModule, for the unit's process (no Ansible on the host)."""

    check_mode = False

    def __init__(self, params, log):
        self.params = params
        self.log = log

    def fail_json(self, msg, **kwargs):
        raise Done(dict(kwargs, msg=msg, failed=True), failed=True)

    def exit_json(self, **kwargs):
        raise Done(kwargs, failed=False)

    def warn(self, msg):
        self.log('warning: %s' % msg)

    @staticmethod
    def run_command(argv, cwd=None, environ_update=None, encoding='utf-8', **dummy):
        env = dict(os.environ)
        env.update(environ_update or {})
        try:
            # the unit's process has no AnsibleModule to run commands with
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,  # pylint: disable=ansible-bad-function
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            return 127, b'' if encoding is None else '', str(e) if encoding else str(e).encode('utf-8')
        out, err = proc.communicate()
        if encoding:
            out, err = out.decode(encoding, 'replace'), err.decode(encoding, 'replace')
        return proc.returncode, out, err

    @staticmethod
    def get_bin_path(name):
        return shutil.which(name)

    @staticmethod
    def atomic_move(src, dest):
        os.rename(src, dest)


def start_reason(events, first_since_boot):
    """Why the unit starts the run now: after a boot (its first start since, for a run that ran before),
    after a failure, or because it was asked to."""
    if first_since_boot and events:
        return AFTER_BOOT
    if events and events[-1].get('event') in ('ended', 'not started') and events[-1].get('failed'):
        return AFTER_FAILURE
    return ON_REQUEST


def load_params(path):
    with open(path) as f:
        params = json.load(f)
    params['state'] = 'started'
    # options a later version added, at their defaults, for a unit that an earlier one wrote
    params.setdefault('patience', 0)
    params.setdefault('min_delta', 0.0)
    os.environ.update(params.pop('environment', None) or {})
    # the notify command stays where the module keeps it, readable by the training user only
    params['notify_command'] = _notifications.read_command(params['log_path'])
    return params


def wait_for_end(trainer, pid, give_up=lambda: False, sleeper=time.sleep, clock=time.monotonic):
    """Waits until trainer pid has ended and its session with it (or WRAPPER_END_SECONDS more), or give_up()
    says to stop waiting; returns whether the trainer ended."""
    def trainer_ended():
        if not _processes.is_script_process(pid, 'train.lua'):
            return _waiter.DONE, None
        return (_waiter.FAIL if give_up() else _waiter.WAIT), None

    # a trainer trains for as long as it takes
    if _waiter.wait_for(trainer_ended, float('inf'), WATCH_SECONDS, clock, sleeper)['outcome'] != _waiter.DONE:
        return False
    _waiter.wait_until(lambda: not trainer.status()['alive'] or give_up(), WRAPPER_END_SECONDS, WATCH_SECONDS / 4,
                       clock, sleeper)
    return True


def ending(trainer):
    """(how the run ended, a dict for its record; whether that is a failure the unit restarts after)."""
    state = _state.read_state(trainer.log_path)
    log = _log.read_log(trainer.log_path, state.get('log_offset'))
    summary = _log.summarize(log['lines'], log['head'])
    code = _log.exit_status(log['lines'])
    stopped = bool(state.get('stopped_at'))
    failed = not stopped and not _trainer.early_stopped(summary, code) and \
        (code != 0 or summary['phase'] in ('error', 'nan', 'exploding'))
    record = {'exit_status': code, 'phase': summary['phase'], 'iteration': summary.get('iteration'),
              'failed': failed}
    for key in ('stopped_on', 'interruption', 'early_stop'):
        if summary.get(key):
            record[key] = summary[key]
    if stopped:
        record['stopped_by'] = 'the train module'
    return record, failed


class Stops:
    """The stop systemd sends every process of the unit (a shutdown, systemctl stop): the supervisor outlives
    it while the trainer saves, so that the run's record says how it ended."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(self):
        self.received = None

    def install(self):
        for signum in self.SIGNALS:
            signal.signal(signum, self.handle)
        return self

    def handle(self, signum, dummy_frame):
        self.received = signum


def note_in_log(log_path, line):
    """Appends a line to the run's log, where people look first (no trainer writes to it then)."""
    try:
        with open(log_path, 'a') as f:
            f.write(line + '\n')
    except (IOError, OSError):
        pass


def main(argv=None, log=None, stops=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write('usage: python -m %s <params.json>\n' % _supervision.SUPERVISOR_MODULE)
        return 2

    def say(text):
        (log or sys.stderr.write)('[charrnn supervisor] %s\n' % text)
        if log is None:
            sys.stderr.flush()

    try:
        params = load_params(argv[0])
    except (IOError, OSError, ValueError, KeyError) as e:
        say('cannot read the run\'s options %s: %s; train it again with the train module' % (argv[0], e))
        return 1
    stops = stops or Stops().install()
    log_path = params['log_path']
    state = _state.read_state(log_path)
    if state.get('stopped_at'):
        say('the run was stopped at %s with state=stopped: it stays down until the train module starts it'
            % state['stopped_at'])
        return 0
    reason = start_reason(_supervision.read_events(log_path), _supervision.mark_up(params['session']))
    if stops.received:
        say('stopped before it started anything')
        return 0
    module = SupervisorModule(params, say)
    manager = None
    try:
        manager = _train_manager.TrainManager(module, started_by=reason)
        manager.run()
        result, failed = {}, False
    except Done as done:
        result, failed = done.result, done.failed
    except Exception as e:  # pylint: disable=broad-except
        # the unit restarts it, within its limit; the record and the journal say why
        result, failed = {'msg': 'the supervisor failed: %s\n%s' % (e, traceback.format_exc())}, True
    if failed:
        msg = result.get('msg', '')
        say('the run did not start: %s' % msg)
        if stops.received:
            _supervision.record_event(log_path, 'not started', by=reason, failed=False,
                                      reason='the unit was stopped while the trainer started')
            return 0
        _supervision.record_event(log_path, 'not started', by=reason, failed=True, reason=msg.splitlines()[0][:500])
        note_in_log(log_path, '[charrnn] %s could not start the trainer: %s. The unit tries again after %d s, at most '
                              '%d times within an hour; then it gives up until the next train task or boot'
                    % (reason, msg.splitlines()[0], params.get('restart_delay', 0), params.get('restart_limit', 0)))
        return 1
    if not result.get('running') or not result.get('pid'):
        say(result.get('msg') or 'nothing to run: %s' % ('finished' if result.get('finished') else 'not running'))
        return 0
    trainer = manager.trainer
    # A trainer the train module started runs outside the unit: a stop of the unit does not reach it (a
    # shutdown stops it later, after the units), so the supervisor must not wait for it then.
    started_here = bool(result.get('changed'))
    say('watching the trainer (pid %d) of session %s, which %s started'
        % (result['pid'], params['session'], 'the unit' if started_here else 'the train module'))
    if not wait_for_end(trainer, result['pid'], give_up=lambda: stops.received and not started_here):
        say('the unit stops; the trainer the train module started goes on')
        return 0
    record, failed = ending(trainer)
    if stops.received:
        # systemd stops the unit, and restarts nothing whatever the status
        record['by'] = 'systemd stopping the unit (a shutdown, or systemctl stop)'
    _supervision.record_event(log_path, 'ended', **record)
    say('the trainer ended (exit status %s, %s)%s'
        % (record['exit_status'], record['phase'], ': systemd restarts it' if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    # the unit's process: its exit status is what systemd restarts on
    sys.exit(main())  # pylint: disable=ansible-bad-function
