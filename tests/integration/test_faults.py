# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Faults during training, through ansible-playbook with the real GNU screen and the stand-in trainer:
the trainer killed, the whole session gone as after a host restart. No checkpoint may be lost."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal
import subprocess
import time

from charrnn_it_helpers import SCREEN, screen_sessions, signal_pids, trainer_pids
from test_training_modules import ckpt_task, train_task

LONG = {'max_epochs': 50}
ENV = {'STANDIN_SLEEP': '0.03', 'STANDIN_SAVE_DELAY': '0.02'}


def checkpoint_files(charrnn_dir):
    cv = charrnn_dir / 'cv'
    return dict((n, (os.stat(str(cv / n)).st_size, os.stat(str(cv / n)).st_mtime_ns))
                for n in os.listdir(str(cv)) if n.endswith('.t7') or n.endswith('.t7.incomplete'))


def wait_for_checkpoints(charrnn_dir, count, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if len(checkpoint_files(charrnn_dir)) >= count:
            return
        time.sleep(0.1)
    raise AssertionError('fewer than %d checkpoints after %ds' % (count, timeout))


def descendants(pid):
    children = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open('/proc/%s/stat' % name) as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def resume_and_check(play, charrnn_dir, session, before, latest):
    """started resumes from the latest complete checkpoint under a savefile of its own; every earlier
    checkpoint stays as it was, except one the dead trainer left half-written, which is set aside."""
    resumed, new = play.run([
        train_task(charrnn_dir, session, options=LONG),
        ckpt_task(charrnn_dir, session, wait='new', timeout=60),
    ], env=ENV)
    assert resumed['changed'] is True and resumed['savefile'] == 'lstm.run2', resumed
    assert resumed['resumed_from'] == latest['path']
    assert new['latest']['name'].startswith('lm_lstm.run2_epoch'), new
    assert not any(c['name'] in [os.path.basename(p) for p in resumed['set_aside']] for c in new['checkpoints'])
    after = checkpoint_files(charrnn_dir)
    for name, stat in before.items():
        kept = after.get(name) == stat
        aside = str(charrnn_dir / 'cv' / name) + '.incomplete' in resumed['set_aside'] and \
            after.get(name + '.incomplete') == stat
        assert kept or aside, name
    assert len(resumed['set_aside']) <= 1
    play.run([train_task(charrnn_dir, session, state='stopped')])


def test_trainer_killed_is_reported_at_once_then_resumed(play, charrnn_dir):
    s = play.session()
    start, dummy = play.run([
        train_task(charrnn_dir, s, options=LONG),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
    ], env=ENV)
    wait_for_checkpoints(charrnn_dir, 3)
    os.kill(start['pid'], signal.SIGKILL)
    waited = play.run([ckpt_task(charrnn_dir, s, wait='new', timeout=120)])[0]
    assert waited['failed'] is True and waited['timed_out'] is False and waited['elapsed'] < 15
    assert waited['training']['status'] == 'stopped' and waited['training']['exit_status'] == 137
    assert waited['log_tail'][-1] == '[charrnn] run ended: exit status 137'
    assert 'has ended (status stopped)' in waited['msg']
    before = checkpoint_files(charrnn_dir)
    assert len(before) >= 3
    resume_and_check(play, charrnn_dir, s, before, waited['latest'])


def test_session_gone_as_after_a_restart_is_resumed(play, charrnn_dir):
    s = play.session()
    play.run([
        train_task(charrnn_dir, s, options=LONG),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
    ], env=ENV)
    wait_for_checkpoints(charrnn_dir, 3)
    # Everything of the session dies at once, with no chance to log an end line.
    server = int(screen_sessions(s)[0].split('.')[0])
    signal_pids(reversed([server] + descendants(server)), signal.SIGKILL)
    end = time.time() + 10
    while trainer_pids(charrnn_dir) and time.time() < end:
        time.sleep(0.05)
    subprocess.run([SCREEN, '-wipe'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    assert screen_sessions(s) == [] and trainer_pids(charrnn_dir) == []
    status = play.run([ckpt_task(charrnn_dir, s)])[0]
    assert status['training']['running'] is False and status['training']['status'] == 'stopped'
    before = checkpoint_files(charrnn_dir)
    resume_and_check(play, charrnn_dir, s, before, status['latest'])


def test_a_stop_sent_to_every_process_of_the_session_saves_the_iteration_under_way_then_resumes(play, charrnn_dir):
    """As a shutdown stops a session: SIGTERM to screen, the wrapper, its tee and the trainer at once."""
    s = play.session()
    start, dummy = play.run([
        train_task(charrnn_dir, s, options=LONG),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
    ], env=ENV)
    server = int(screen_sessions(s)[0].split('.')[0])
    signal_pids([server] + descendants(server), signal.SIGTERM)
    end = time.time() + 20
    while trainer_pids(charrnn_dir) and time.time() < end:
        time.sleep(0.05)
    assert trainer_pids(charrnn_dir) == []
    with open(start['log_path']) as f:
        lines = [line.rstrip('\t\n') for line in f]
    # the wrapper outlived the stop and logged the trainer's end
    assert lines[-1] == '[charrnn] run ended: exit status 0'
    assert lines[-2].startswith('[charrnn] stopped on SIGTERM after saving cv/lm_lstm_epoch'), lines[-5:]
    status = play.run([ckpt_task(charrnn_dir, s)])[0]
    assert status['training']['stopped_on'] == 'SIGTERM' and status['in_progress'] == []
    assert status['latest']['name'] == os.path.basename(status['training']['last_checkpoint'])
    resume_and_check(play, charrnn_dir, s, checkpoint_files(charrnn_dir), status['latest'])
