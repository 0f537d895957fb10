# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The supervised run's stories in a container that boots systemd as PID 1, with the stand-in trainer:
a reboot (docker restart: the units get SIGTERM) brings training back from the checkpoint the stop
wrote; a crash is restarted; a trainer that fails at once is restarted a bounded number of times, then
the unit gives up and the status says so; a run stopped with state=stopped, or finished, stays down.

Needs docker and the image molecule/offline/build-image.sh --systemd builds (CHARRNN_SYSTEMD_IMAGE); run by
`tests/run.sh systemd`.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'integration'))

from charrnn_it_helpers import STAND_IN_TH, ansible_playbook, collections_root  # noqa: E402

IMAGE = os.environ.get('CHARRNN_SYSTEMD_IMAGE', 'charrnn-systemd/debian:12')
USER = 'trainer'
CHDIR = '/home/%s/charrnn' % USER
SESSION = 'charrnn'
UNIT = 'charrnn-train-%s.service' % SESSION
LOG = CHDIR + '/cv/train-%s.log' % SESSION
# Seconds within which a restarted box trains again (the issue asks for a minute).
BACK_WITHIN = 60
STANDIN_SLEEP = '0.1'
TRAIN = {
    'chdir': CHDIR, 'th': '/opt/standin/th', 'data_dir': 'data/tiny', 'session': SESSION, 'precision': 'float',
    'options': {'eval_val_every': 100000, 'print_every': 1, 'max_epochs': 100000, 'batch_size': 10,
                'seq_length': 20},
    'startup_timeout': 60, 'restart_limit': 2, 'restart_delay': 2,
}


def docker(*args, check=True, timeout=120):
    proc = subprocess.run(['docker'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    if check and proc.returncode != 0:
        raise AssertionError('docker %s failed (rc %d): %s' % (' '.join(args), proc.returncode, out))
    return out


class Box:
    """The container: commands in it as root or as the training user, and the module through Ansible."""

    def __init__(self, name, tmp_path):
        self.name = name
        self.tmp_path = tmp_path
        self.plays = 0

    def sh(self, script, user='root', check=True):
        env = ['-e', 'XDG_RUNTIME_DIR=/run/user/1000'] if user != 'root' else []
        return docker(*(['exec', '-u', user] + env + [self.name, 'sh', '-c', script]), check=check)

    def user_systemctl(self, *args):
        return self.sh('systemctl --user %s' % ' '.join(args), user=USER, check=False).strip()

    def wait_booted(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = docker('exec', self.name, 'systemctl', 'is-system-running', check=False).strip()
            if state in ('running', 'degraded'):
                return
            time.sleep(0.5)
        raise AssertionError('systemd did not finish booting in %s: %s' % (self.name, state))

    def play(self, tasks, check=False, gather=False):
        """Runs tasks on the box as the training user (the role's supervision tasks as root); returns
        their results."""
        self.plays += 1
        base = self.tmp_path / ('play%d' % self.plays)
        base.mkdir()
        names = ['r%d' % i for i in range(len(tasks))]
        play_tasks = [dict(t, register=n, ignore_errors=True) for t, n in zip(tasks, names)]
        play_tasks.append({'name': 'dump', 'delegate_to': 'localhost', 'become': False, 'ansible.builtin.copy': {
            'content': '{{ [%s] | to_json }}' % ', '.join(names), 'dest': str(base / 'results.json')},
            'check_mode': False})
        (base / 'play.yml').write_text(json.dumps([{
            'hosts': 'box', 'gather_facts': gather, 'become': True, 'become_user': USER,
            'vars': {'charrnn_user': USER, 'ansible_python_interpreter': '/usr/bin/python3'},
            'tasks': play_tasks}]))
        (base / 'hosts').write_text('box ansible_connection=community.docker.docker ansible_host=%s '
                                    'ansible_pipelining=true\nlocalhost ansible_connection=local '
                                    'ansible_python_interpreter=%s\n' % (self.name, sys.executable))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCAL_TEMP=str(base / 'tmp'), ANSIBLE_DEPRECATION_WARNINGS='False')
        cmd = [ansible_playbook(), '-i', str(base / 'hosts'), str(base / 'play.yml')] + (['--check'] if check else [])
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(base),
                              timeout=600, check=False)
        out = proc.stdout.decode('utf-8', 'replace')
        (base / 'output.txt').write_text(out)
        if not (base / 'results.json').exists():
            raise AssertionError('the play did not finish (rc %d):\n%s' % (proc.returncode, out[-5000:]))
        return json.loads((base / 'results.json').read_text())

    def train(self, **params):
        # the stand-in's pace, as the unit's trainers get it from environment.d
        return self.play([{'rnn_bootstrap.charrnn.train': dict(TRAIN, **params),
                           'environment': {'STANDIN_SLEEP': STANDIN_SLEEP}}])[0]

    def status(self):
        return self.play([{'rnn_bootstrap.charrnn.checkpoint': {
            'chdir': CHDIR, 'checkpoint_dir': 'cv', 'session': SESSION}}])[0]

    def log(self):
        return self.sh('cat %s' % LOG, check=False)

    def events(self):
        out = self.sh('cat %s.events' % LOG, check=False)
        return [json.loads(line) for line in out.splitlines() if line.startswith('{')]

    def trainer_pid(self):
        """The pid of the running trainer (train.lua under the prelude), or None."""
        out = self.sh("{ pid=$(cat %s.pid) && tr '\\0' ' ' < /proc/$pid/cmdline | grep -q train.lua "
                      "&& ! grep -q '^State:.*zombie' /proc/$pid/status && echo $pid; } 2>/dev/null || true"
                      % LOG).split()
        return int(out[0]) if out else None

    def wait_for(self, what, predicate, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.5)
        raise AssertionError('%s: not within %ds\nlog:\n%s\nunit: %s' % (
            what, timeout, self.log()[-3000:], self.user_systemctl('status', UNIT, '--no-pager')))

    def reboot(self):
        """A clean reboot: systemd stops every unit (SIGTERM) and boots again."""
        docker('restart', '-t', '120', self.name, timeout=240)
        self.wait_booted()


@pytest.fixture(scope='module')
def box(tmp_path_factory):
    if not ansible_playbook() or subprocess.run(['docker', 'image', 'inspect', IMAGE], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL, check=False).returncode != 0:
        pytest.skip('needs ansible-playbook, docker and the image %s (molecule/offline/build-image.sh --systemd)' % IMAGE)
    name = 'charrnn-systemd-%s' % uuid.uuid4().hex[:8]
    docker('run', '-d', '--name', name, '--tmpfs', '/run', '--tmpfs', '/run/lock', '-v',
           '/sys/fs/cgroup:/sys/fs/cgroup:ro', '-e', 'container=docker', '--stop-signal', 'SIGRTMIN+3', IMAGE,
           '/sbin/init')
    b = Box(name, tmp_path_factory.mktemp('systemd'))
    try:
        b.wait_booted()
        b.sh('useradd -m -u 1000 %s && mkdir -p /opt/standin' % USER)
        docker('cp', STAND_IN_TH, '%s:/opt/standin/th' % name)
        text = ('First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n') * 400
        b.sh("chmod 755 /opt/standin/th && mkdir -p {d}/data/tiny /home/{u}/.config/environment.d && "
             "echo '-- placeholder' > {d}/train.lua && echo '-- placeholder' > {d}/sample.lua && "
             "printf %s '{t}' > {d}/data/tiny/input.txt && "
             "echo STANDIN_SLEEP={s} > /home/{u}/.config/environment.d/standin.conf && "
             "chown -R {u}: /home/{u}".format(d=CHDIR, u=USER, s=STANDIN_SLEEP, t=text[:20000].replace("'", '')))
        # The char_rnn role's user tasks let the user linger, so that its manager starts at boot.
        result = b.play([{'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.char_rnn',
                                                           'tasks_from': 'user.yml',
                                                           'apply': {'become_user': 'root'}}}], gather=True)[0]
        assert not result.get('failed'), result
        assert b.sh('ls /var/lib/systemd/linger').split() == [USER]
        yield b
    finally:
        if not os.environ.get('CHARRNN_KEEP_BOX'):
            docker('rm', '-f', name, check=False)


AFTER_BOOT = 'systemd, after a restart of the host'


def last_start_by(box, by):
    """The run's last event is a start by `by`."""
    events = box.events()
    return bool(events) and events[-1]['event'] == 'started' and events[-1].get('by') == by


def checkpoints_saved(log):
    """(iteration, checkpoint) of each checkpoint the log announces."""
    saved, iteration = [], None
    for line in log.splitlines():
        m = re.match(r'(\d+)/\d+ ', line)
        if m:
            iteration = int(m.group(1))
        m = re.match(r'saving checkpoint to (\S+)', line)
        if m:
            saved.append((iteration, m.group(1)))
    return saved


def new_runs(log, after):
    """The run markers of the log after offset `after`."""
    return re.findall(r'^\[charrnn\] run started .*$', log[after:], re.M)


def test_a_reboot_resumes_from_the_checkpoint_the_stop_wrote(box):
    started = box.train()
    assert not started.get('failed') and started['changed'] and started['running'], started
    assert started['supervision'] == {'mode': 'systemd', 'unit': UNIT, 'comes_back_after_reboot': True,
                                      'reason': None}
    assert box.user_systemctl('is-enabled', UNIT) == 'enabled'
    assert box.user_systemctl('is-active', UNIT) == 'active'
    assert box.train()['changed'] is False  # idempotent: the unit watches the trainer the module started
    box.wait_for('a few iterations', lambda: re.search(r'^10/\d+', box.log(), re.M), 60)
    before = len(box.log())
    t0 = time.time()
    box.reboot()
    # the start is recorded once the trainer trains
    box.wait_for('a start by systemd after the reboot', lambda: last_start_by(box, AFTER_BOOT), BACK_WITHIN)
    back = time.time() - t0
    pid = box.trainer_pid()
    log = box.log()
    saved = re.findall(r'^\[charrnn\] stopped on SIGTERM after saving (\S+) at iteration (\d+)', log, re.M)
    assert saved, log[-3000:]
    checkpoint, iteration = saved[-1]
    checkpoint = os.path.join(CHDIR, checkpoint)
    assert int(iteration) >= 10
    runs = new_runs(log, before)
    assert len(runs) == 1, runs
    assert '-init_from %s' % checkpoint in runs[0], runs[0]
    events = box.events()
    assert events[-1]['event'] == 'started' and events[-1]['by'] == 'systemd, after a restart of the host', events
    assert events[-1]['pid'] == pid and events[-1]['resumed_from'] == checkpoint
    status = box.status()
    assert status['supervision']['comes_back_after_reboot'] is True, status['supervision']
    assert status['supervision']['active_state'] == 'active'
    print('back %.1fs after docker restart; stop checkpoint at iteration %s' % (back, iteration))


def test_a_crash_is_restarted_and_resumes(box):
    pid = box.wait_for('the trainer', box.trainer_pid, 30)
    box.sh('kill -KILL %d' % pid)
    box.wait_for('a restart by systemd', lambda: last_start_by(box, 'systemd, after the trainer failed'), 40)
    new = box.trainer_pid()
    assert new and new != pid
    events = box.events()
    ended = [e for e in events if e['event'] == 'ended']
    assert ended and ended[-1]['failed'] is True and ended[-1]['exit_status'] == 137, events
    assert events[-1]['event'] == 'started' and events[-1]['by'] == 'systemd, after the trainer failed', events
    assert events[-1]['pid'] == new
    # a reboot again, of a trainer the unit started: its process outlives the stop to record how the run ended
    box.wait_for('a few iterations', lambda: re.search(r'^10/\d+', box.log()[-2000:], re.M), 30)
    box.reboot()
    box.wait_for('a start by systemd after the reboot', lambda: last_start_by(box, AFTER_BOOT), BACK_WITHIN)
    events = box.events()
    assert events[-2]['event'] == 'ended' and events[-2]['stopped_on'] == 'SIGTERM' and not events[-2]['failed'], events
    assert events[-2]['by'] == 'systemd stopping the unit (a shutdown, or systemctl stop)'
    assert events[-1]['by'] == 'systemd, after a restart of the host'


def test_a_trainer_that_fails_at_once_is_not_restarted_for_ever(box):
    pid = box.wait_for('the trainer', box.trainer_pid, 30)
    box.user_systemctl('set-environment', 'STANDIN_CRASH_AT=1')
    try:
        box.sh('kill -KILL %d' % pid)
        box.wait_for('the unit to give up', lambda: box.user_systemctl('is-active', UNIT) == 'failed', 90)
        assert box.trainer_pid() is None
        not_started = [e for e in box.events() if e['event'] == 'not started']
        assert 1 <= len(not_started) <= TRAIN['restart_limit'] + 1, not_started
        assert 'ended before it trained' in not_started[-1]['reason']
        assert re.search(r'^\[charrnn\] systemd(, after the trainer failed)? could not start the trainer: the trainer '
                         r'ended before it trained .*The unit tries again after 2 s, at most 2 times', box.log(), re.M)
        status = box.status()
        sup = status['supervision']
        assert sup['active_state'] == 'failed' and 'gave up' in sup['reason'], sup
        assert status['training']['running'] is False
    finally:
        box.user_systemctl('unset-environment', 'STANDIN_CRASH_AT')
    # a train task starts it again, with a new count of restarts
    again = box.train()
    assert not again.get('failed') and again['changed'] and again['running'], again
    assert box.user_systemctl('is-active', UNIT) == 'active'


def test_a_stopped_run_stays_down_after_a_reboot(box):
    box.wait_for('the trainer', box.trainer_pid, 30)
    stopped = box.train(state='stopped')
    assert stopped['changed'] and not stopped['running'], stopped
    assert box.trainer_pid() is None
    assert box.user_systemctl('is-enabled', UNIT) == 'disabled'
    assert re.search(r'^\[charrnn\] stopped on SIGTERM after saving', box.log(), re.M)
    before = len(box.log())
    box.reboot()
    time.sleep(10)
    assert box.trainer_pid() is None
    assert new_runs(box.log(), before) == []
    status = box.status()
    assert status['supervision']['comes_back_after_reboot'] is False
    assert 'disabled' in status['supervision']['reason']


def test_a_finished_run_is_not_started_again_at_boot(box):
    options = dict(TRAIN['options'], max_epochs=2)
    start = len(box.log())
    done = box.train(state='restarted', options=options)
    assert done['changed'], done
    box.wait_for('the end of training', lambda: box.trainer_pid() is None and
                 re.search(r'^\[charrnn\] run ended: exit status 0', box.log()[start:], re.M), 60)
    box.wait_for('the unit to end', lambda: box.user_systemctl('is-active', UNIT) == 'inactive', 30)
    assert box.user_systemctl('is-enabled', UNIT) == 'enabled'
    before = len(box.log())
    box.reboot()
    time.sleep(10)
    assert box.trainer_pid() is None
    assert new_runs(box.log(), before) == []
    again = box.train(options=options)
    assert again['changed'] is False and again['finished'] is True, again


def test_a_power_loss_loses_at_most_the_checkpoint_interval(box):
    start = len(box.log())
    started = box.train(state='restarted', checkpoint_minutes=1)
    assert not started.get('failed') and started['running'], started
    box.wait_for('a checkpoint by time', lambda: checkpoints_saved(box.log()[start:]), 100)
    time.sleep(5)
    log = box.log()
    iterations = [int(i) for i in re.findall(r'^(\d+)/\d+ ', log[start:], re.M)]
    docker('kill', box.name)
    docker('start', box.name)
    box.wait_booted()
    box.wait_for('a trainer after the power loss', box.trainer_pid, BACK_WITHIN)
    at, checkpoint = checkpoints_saved(log[start:])[-1]
    checkpoint = os.path.join(CHDIR, checkpoint)
    runs = new_runs(box.log(), len(log))
    assert len(runs) == 1 and runs[0].endswith('-init_from %s' % checkpoint), (runs, checkpoint)
    lost = iterations[-1] - at
    # what the interval and the pause before the kill hold at the stand-in's pace, and no more
    assert 0 < lost <= (60 + 5) / float(STANDIN_SLEEP), (at, iterations[-1])
    print('power loss: %d iterations lost since the checkpoint by time at %d' % (lost, at))
