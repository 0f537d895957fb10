# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Unit tests of _supervision (the user unit of a run) and _supervisor (its process). The stories with a
real systemd are in tests/systemd."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import signal
import subprocess
import sys

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import supervision as _supervision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _supervisor


class FakeSystemctl:
    """`systemctl --user` of one unit, as a runner: keeps whether it is enabled and active."""

    def __init__(self, enabled='disabled', active='inactive', result='success', fail=None):
        self.props = {'UnitFileState': enabled, 'ActiveState': active, 'Result': result, 'NRestarts': '0',
                      'SubState': 'dead', 'ExecMainStatus': '0', 'LoadState': 'loaded'}
        self.calls = []
        self.fail = fail

    def __call__(self, argv, env=None):
        assert argv[:2] == ['systemctl', '--user'] or argv[:2] == ['systemctl', '--version']
        assert env['XDG_RUNTIME_DIR']
        verb = argv[2] if argv[1] == '--user' else 'version'
        self.calls.append(verb)
        if verb == self.fail:
            return 1, '', 'Failed to %s: Access denied' % verb
        if verb == 'show':
            return 0, ''.join('%s=%s\n' % kv for kv in sorted(self.props.items())), ''
        if verb == 'version':
            return 0, 'systemd 252 (252.30-1~deb12u2)\n+PAM +AUDIT\n', ''
        if verb in ('enable', 'disable'):
            self.props['UnitFileState'] = verb + 'd'
        elif verb == 'start':
            self.props['ActiveState'] = 'active'
        elif verb == 'stop':
            self.props['ActiveState'] = 'inactive'
        elif verb == 'reset-failed':
            self.props['Result'] = 'success'
        return 0, '', ''


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'config'))
    monkeypatch.setenv('XDG_DATA_HOME', str(tmp_path / 'data'))
    monkeypatch.setenv('XDG_RUNTIME_DIR', str(tmp_path / 'run'))
    (tmp_path / 'run').mkdir()
    return tmp_path


@pytest.mark.parametrize('session,unit', [('charrnn', 'charrnn-train-charrnn.service'),
                                          ('a+b_c-1', 'charrnn-train-a\\x2bb_c-1.service')])
def test_unit_names_are_systemd_unit_names(session, unit):
    assert _supervision.unit_name(session) == unit


def test_unit_text_runs_the_supervisor_with_a_limit_and_room_to_save():
    text = _supervision.unit_text('s', '/usr/bin/python3', '/home/u/.local/share/x y', '/cv/train-s.log.supervisor.json',
                                  '/opt/rnn 100%', stop_timeout=120, restart_limit=5, restart_delay=30)
    lines = text.splitlines()
    assert 'ExecStart="/usr/bin/python3" -m %s "/cv/train-s.log.supervisor.json"' % _supervision.SUPERVISOR_MODULE \
        in lines
    assert 'Environment="PYTHONPATH=/home/u/.local/share/x y"' in lines
    assert 'WorkingDirectory=/opt/rnn 100%%' in lines
    assert 'StartLimitBurst=6' in lines and 'StartLimitIntervalSec=3600' in lines
    assert 'Restart=on-failure' in lines and 'RestartSec=30' in lines
    assert 'TimeoutStopSec=150' in lines and 'KillMode=control-group' in lines
    assert 'WantedBy=default.target' in lines
    assert not any(line.startswith('RestartSteps') for line in lines)
    backoff = _supervision.unit_text('s', 'p', 'c', 'f', 'd', 120, 5, 30, backoff=True).splitlines()
    assert 'RestartSteps=5' in backoff and 'RestartMaxDelaySec=300' in backoff


@pytest.mark.parametrize('arg,quoted', [('a b', '"a b"'), ('x"y\\z', '"x\\"y\\\\z"'), ('50%$HOME', '"50%%$$HOME"')])
def test_exec_quote(arg, quoted):
    assert _supervision.exec_quote(arg) == quoted


def test_why_a_run_cannot_be_supervised(home):
    assert 'not PID 1' in _supervision.unavailable_reason(isdir=lambda p: False)
    reason = _supervision.unavailable_reason(uid=1000, isdir=lambda p: True, exists=lambda p: False)
    assert 'no systemd manager runs for uid 1000' in reason and 'loginctl enable-linger' in reason
    assert _supervision.unavailable_reason(isdir=lambda p: True, exists=lambda p: True) is None


def test_events_are_kept_in_order_and_capped(tmp_path, monkeypatch):
    log = str(tmp_path / 'train-s.log')
    assert _supervision.read_events(log) == []
    monkeypatch.setattr(_supervision, 'EVENTS_KEPT', 5)
    for n in range(8):
        _supervision.record_event(log, 'started', pid=n)
    events = _supervision.read_events(log, n=0)
    assert [e['pid'] for e in events] == [3, 4, 5, 6, 7]
    assert all(e['event'] == 'started' and e['at'][:2] == '20' for e in events)
    assert [e['pid'] for e in _supervision.read_events(log, n=2)] == [6, 7]


def test_the_first_start_since_boot_is_noted_in_the_runtime_directory(home):
    assert _supervision.mark_up('s') is True
    assert _supervision.mark_up('s') is False
    assert _supervision.mark_up('other') is True


def test_install_enables_and_starts_once(home):
    fake = FakeSystemctl()
    unit = _supervision.Unit('s', fake)
    assert unit.install('[Unit]\n') is True
    assert fake.calls == ['daemon-reload', 'show', 'enable', 'reset-failed', 'start']
    assert open(unit.path).read() == '[Unit]\n'
    fake.calls = []
    assert unit.install('[Unit]\n') is False
    assert fake.calls == ['show']
    assert unit.install('[Unit]\nDescription=new\n') is True
    assert fake.calls[1:] == ['daemon-reload', 'show']


def test_stop_disables_and_stops_what_runs_or_would_restart(home):
    fake = FakeSystemctl(enabled='enabled', active='activating', result='exit-code')
    unit = _supervision.Unit('s', fake)
    assert unit.stop(disable=True) is False  # no unit file: nothing of ours
    unit.install('[Unit]\n')
    fake.calls = []
    fake.props.update(ActiveState='activating', Result='exit-code')
    assert unit.stop(disable=True) is True
    assert fake.calls == ['show', 'disable', 'stop', 'reset-failed']
    fake.calls = []
    assert unit.stop(disable=True) is False


def test_a_systemctl_failure_names_the_command(home):
    unit = _supervision.Unit('s', FakeSystemctl(fail='enable'))
    with pytest.raises(_supervision.SupervisionError) as e:
        unit.install('[Unit]\n')
    assert str(e.value) == 'systemctl --user enable charrnn-train-s.service failed (rc 1): Failed to enable: Access denied'


def test_remove_disables_and_forgets_the_unit(home):
    fake = FakeSystemctl()
    unit = _supervision.Unit('s', fake)
    assert unit.remove() is False
    unit.install('[Unit]\n')
    assert unit.remove() is True
    assert not os.path.exists(unit.path) and fake.calls[-2:] == ['disable', 'daemon-reload']


def test_describe_says_whether_the_run_comes_back(home, monkeypatch):
    monkeypatch.setattr(_supervision, 'unavailable_reason', lambda **k: 'systemd is not PID 1 on this host')
    info = _supervision.describe('s', FakeSystemctl())
    assert info['comes_back_after_reboot'] is False
    assert info['reason'] == 'the run will not come back after a restart of the host: systemd is not PID 1 on this host'
    monkeypatch.setattr(_supervision, 'unavailable_reason', lambda **k: None)
    assert 'no unit supervises it' in _supervision.describe('s', FakeSystemctl())['reason']
    fake = FakeSystemctl()
    _supervision.Unit('s', fake).install('[Unit]\n')
    info = _supervision.describe('s', fake)
    assert info['comes_back_after_reboot'] is True and info['reason'] is None and info['active_state'] == 'active'
    fake.props.update(ActiveState='failed', Result='start-limit-hit', NRestarts='5')
    info = _supervision.describe('s', fake)
    assert info['restarts'] == 5 and 'gave up after 5 restart(s) (result start-limit-hit)' in info['reason']
    fake.props.update(UnitFileState='disabled', ActiveState='inactive')
    assert 'disabled' in _supervision.describe('s', fake)['reason']


def test_the_supervisor_ships_as_a_tree_that_runs_without_ansible(tmp_path):
    sources = _supervision.supervisor_sources()
    assert {'_supervisor.py', '_train_manager.py', '_run/supervision.py', '_run/trainer.py', '_host/files.py'} <= set(sources)
    root = _supervision.install_code(str(tmp_path / 'code'), sources)
    assert _supervision.install_code(str(tmp_path / 'code'), sources) == root
    # a Python that finds only the tree: no Ansible, no checkout
    env = {'PYTHONPATH': root, 'PATH': os.environ['PATH'], 'PYTHONNOUSERSITE': '1'}
    proc = subprocess.run([sys.executable, '-S', '-m', _supervision.SUPERVISOR_MODULE], cwd=str(tmp_path), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 2, proc.stderr.decode()
    assert proc.stderr.decode().startswith('usage: python -m %s <params.json>' % _supervision.SUPERVISOR_MODULE)
    proc = subprocess.run([sys.executable, '-S', '-m', _supervision.SUPERVISOR_MODULE, str(tmp_path / 'none.json')],
                          cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 1 and "cannot read the run's options" in proc.stderr.decode()


@pytest.mark.parametrize('events,first,reason', [
    ([], True, _supervisor.ON_REQUEST),
    ([{'event': 'started'}], True, _supervisor.AFTER_BOOT),
    ([{'event': 'started'}], False, _supervisor.ON_REQUEST),
    ([{'event': 'ended', 'failed': True}], False, _supervisor.AFTER_FAILURE),
    ([{'event': 'not started', 'failed': True}], False, _supervisor.AFTER_FAILURE),
    ([{'event': 'ended', 'failed': False}], False, _supervisor.ON_REQUEST),
])
def test_why_the_unit_starts_a_run(events, first, reason):
    assert _supervisor.start_reason(events, first) == reason


def write_run(tmp_path, log_text, **state):
    log = str(tmp_path / 'train-s.log')
    with open(log, 'w') as f:
        f.write(log_text)
    _state.write_state(log, dict(state, log_offset=0))
    return log


class Trainer:
    def __init__(self, log_path):
        self.log_path = log_path


@pytest.mark.parametrize('text,state,failed,extra', [
    ('1/10 (epoch 0.100), train_loss = 4.1, grad/param norm = 1e-1, time/batch = 0.1s\n'
     '[charrnn] run ended: exit status 0\n', {}, False, {}),
    ('1/10 (epoch 0.100), train_loss = 4.1, grad/param norm = 1e-1, time/batch = 0.1s\n'
     '[charrnn] stopped on SIGTERM after saving cv/x.t7 at iteration 1\n[charrnn] run ended: exit status 0\n',
     {}, False, {'stopped_on': 'SIGTERM'}),
    ('1/10 (epoch 0.100), train_loss = 4.1, grad/param norm = 1e-1, time/batch = 0.1s\n'
     '[charrnn] run ended: exit status 137\n', {}, True, {}),
    ('1/10 (epoch 0.100), train_loss = 4.1, grad/param norm = 1e-1, time/batch = 0.1s\n', {}, True, {}),
    ('1/10 (epoch 0.100), train_loss = 4.1, grad/param norm = 1e-1, time/batch = 0.1s\n'
     '[charrnn] run ended: exit status 143\n', {'stopped_at': '2026-12-07T09:00:00+0000'}, False,
     {'stopped_by': 'the train module'}),
    # early stopping ended it: finished, with or without the prelude, never restarted
    ('1/10 (epoch 0.100), train_loss = 4.1, grad/param norm = 1e-1, time/batch = 0.1s\n'
     '[charrnn] early stop at iteration 1, best checkpoint cv/x.t7: patience 1\nTerminated\n'
     '[charrnn] run ended: exit status 143\n', {}, False,
     {'early_stop': {'iteration': 1, 'best': 'cv/x.t7', 'reason': 'patience 1'}}),
    ('1/10 (epoch 0.100), train_loss = 4.1, grad/param norm = 1e-1, time/batch = 0.1s\n'
     '[charrnn] early stop at iteration 1, best checkpoint cv/x.t7: patience 1\n'
     '[charrnn] stopped on SIGTERM after saving cv/y.t7 at iteration 2\n[charrnn] run ended: exit status 0\n', {},
     False, {'early_stop': {'iteration': 1, 'best': 'cv/x.t7', 'reason': 'patience 1'}, 'stopped_on': 'SIGTERM'}),
])
def test_how_a_run_ended_decides_a_restart(tmp_path, text, state, failed, extra):
    record, restart = _supervisor.ending(Trainer(write_run(tmp_path, text, **state)))
    assert restart is failed and record['failed'] is failed
    for key, value in extra.items():
        assert record[key] == value


def test_a_run_stopped_on_purpose_stays_down(tmp_path, capsys):
    log = write_run(tmp_path, '', stopped_at='2026-12-07T09:00:00+0000')
    params = tmp_path / 'p.json'
    params.write_text(json.dumps({'log_path': log, 'session': 's'}))
    said = []
    assert _supervisor.main([str(params)], log=said.append, stops=_supervisor.Stops()) == 0
    assert 'stopped at 2026-12-07T09:00:00+0000 with state=stopped' in said[0]


def test_the_supervisor_outlives_a_stop_to_record_how_the_run_ended():
    stops = _supervisor.Stops()
    previous = [signal.getsignal(s) for s in stops.SIGNALS]
    try:
        stops.install()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stops.received == signal.SIGTERM
    finally:
        for signum, handler in zip(stops.SIGNALS, previous):
            signal.signal(signum, handler)


class EndingTrainer:
    """A trainer whose session outlives it."""

    def __init__(self):
        self.looks = 0

    def status(self):
        self.looks += 1
        return {'alive': [{'pid': 4243}]}


def test_after_the_trainer_its_session_has_a_while_to_end(monkeypatch, fake_clock):
    monkeypatch.setattr(_supervisor._processes, 'is_script_process', lambda pid, script: False)
    trainer = EndingTrainer()
    assert _supervisor.wait_for_end(trainer, 4242, clock=fake_clock.clock, sleeper=fake_clock.sleep) is True
    assert fake_clock.now == 1000 + _supervisor.WRAPPER_END_SECONDS and trainer.looks > 1


def test_a_stop_ends_the_wait_for_a_trainer_that_runs_on(monkeypatch, fake_clock):
    monkeypatch.setattr(_supervisor._processes, 'is_script_process', lambda pid, script: True)
    stop_after = iter([False, False, True])
    assert _supervisor.wait_for_end(EndingTrainer(), 4242, give_up=lambda: next(stop_after),
                                    clock=fake_clock.clock, sleeper=fake_clock.sleep) is False
    assert fake_clock.sleeps == [_supervisor.WATCH_SECONDS] * 2
