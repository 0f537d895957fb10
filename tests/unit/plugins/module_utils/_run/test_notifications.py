# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The notifier, run as the wrapper runs it, against logs as the trainer writes them and a command that
records what it was told."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import notifications as _notifications

MARKER = '[charrnn] run started 2026-12-07T05:00:00+0000 session=s: th train.lua\n'
# What the command records: the environment it was given, then the JSON on its standard input.
RECORDER = 'printf "%s|%s|%s\\n" "$CHARRNN_EVENT" "$CHARRNN_MESSAGE" "$CHARRNN_SESSION" >> {out}; ' \
           'cat >> {out}; echo >> {out}; echo told'


def it(i, total=100):
    return '%d/%d (epoch %.3f), train_loss = 1.50000000, grad/param norm = 5.0e-02, time/batch = 0.0500s\t\n' % (
        i, total, i / 10.0)


@pytest.fixture
def run(tmp_path):
    log = tmp_path / 'train.log'
    out = tmp_path / 'told.txt'
    _notifications.write_command(str(log), RECORDER.format(out=out))

    def notifier(mode, text='', pid=None, stall_seconds=0, resumed_from=None, look=0.1):
        log.write_text(text)
        pid_file = tmp_path / 'train.log.pid'
        pid_file.write_text('%d\n' % (pid or 999999999))
        argv = _notifications.notifier_argv(sys.executable, mode, str(log), 's', str(pid_file), stall_seconds,
                                            resumed_from=resumed_from, look=look)
        return subprocess.Popen(argv)

    def told():
        lines = out.read_text().splitlines() if out.exists() else []
        return [tuple(line.split('|')) for line in lines[0::2]], [json.loads(line) for line in lines[1::2]]

    run.log, run.told, run.notifier = log, told, notifier
    return run


@pytest.mark.parametrize('ending,event,message', [
    ([it(99), it(100), '[charrnn] run ended: exit status 0\n'], 'finished', 'trained all 100 iterations'),
    ([it(7), '[charrnn] SIGTERM received: saving a checkpoint at the end of iteration 8, then stopping\t\n',
      'saving checkpoint to cv/lm_lstm_epoch0.80_1.5000.t7\t\n', it(8),
      '[charrnn] stopped on SIGTERM after saving cv/lm_lstm_epoch0.80_1.5000.t7 at iteration 8\t\n',
      '[charrnn] run ended: exit status 0\n'],
     'stopped', 'stopped on SIGTERM at iteration 8 of 100, after a checkpoint'),
    ([it(7), '[charrnn] EC2 spot interruption notice (terminate at 2026-12-07T12:00:00Z): stopping the trainer '
             '(pid 9) with a checkpoint\n', it(8),
      '[charrnn] stopped on SIGTERM after saving cv/lm_lstm_epoch0.80_1.5000.t7 at iteration 8\t\n',
      '[charrnn] run ended: exit status 0\n'],
     'interrupted', 'EC2 spot interruption notice (terminate at 2026-12-07T12:00:00Z); stopped at iteration 8 of 100'),
    ([it(7), 'loss is NaN.  This usually indicates a bug.\t\n', '[charrnn] run ended: exit status 0\n'],
     'crashed', 'exit status 0 at iteration 7 of 100: loss is NaN.  This usually indicates a bug.'),
    ([it(7), '/opt/torch/bin/luajit: train.lua:262: not enough memory\n', 'stack traceback:\n',
      '[charrnn] run ended: exit status 1\n'],
     'crashed', 'exit status 1 at iteration 7 of 100: /opt/torch/bin/luajit: train.lua:262: not enough memory'),
    ([it(7), 'Killed\n', '[charrnn] run ended: exit status 137\n'],
     'stopped', 'killed (exit status 137) at iteration 7 of 100, without a checkpoint'),
    # early stopping ends the run with SIGTERM: the prelude saves and exits 0, train.lua alone dies of it
    ([it(30), '[charrnn] early stop at iteration 30, best checkpoint cv/lm_lstm_epoch1.00_1.4000.t7: 2 validation(s) '
              'without a new best\n',
      '[charrnn] SIGTERM received: saving a checkpoint at the end of iteration 31, then stopping\t\n', it(31),
      '[charrnn] stopped on SIGTERM after saving cv/lm_lstm_epoch3.10_1.6000.t7 at iteration 31\t\n',
      '[charrnn] run ended: exit status 0\n'],
     'finished', 'stopped early at iteration 30 of 100, best checkpoint cv/lm_lstm_epoch1.00_1.4000.t7: '
                 '2 validation(s) without a new best'),
    ([it(30), '[charrnn] early stop at iteration 30, best checkpoint cv/lm_lstm_epoch1.00_1.4000.t7: patience 2\n',
      'Terminated\n', '[charrnn] run ended: exit status 143\n'],
     'finished', 'stopped early at iteration 30 of 100, best checkpoint cv/lm_lstm_epoch1.00_1.4000.t7: patience 2'),
])
def test_the_end_of_a_run_is_told_as_it_happened(run, ending, event, message):
    earlier = MARKER + it(100) + '[charrnn] run ended: exit status 0\n'  # an earlier run in the same log
    assert run.notifier('end', earlier + MARKER + ''.join(ending)).wait(timeout=30) == 0
    told, said = run.told()
    assert told == [(event, message, 's')]
    assert said[0]['event'] == event and said[0]['message'] == message and said[0]['log'] == str(run.log)
    assert run.log.read_text().endswith('[charrnn] notify: %s (%s): command exited 0: told\n' % (event, message))


def test_a_start_a_resume_and_a_stall_are_told_while_the_trainer_lives(run):
    trainer = subprocess.Popen(['sleep', '60'])
    try:
        watch = run.notifier('watch', MARKER + it(1), pid=trainer.pid, stall_seconds=2,
                             resumed_from='/cv/lm_lstm_epoch1.00_1.5000.t7')
        end = time.time() + 20
        while len(run.told()[0]) < 2 and time.time() < end:
            time.sleep(0.1)
        time.sleep(5)  # stalled is said once, however long it stays so
        told = run.told()[0]
        assert told == [('resumed', 'resumed from /cv/lm_lstm_epoch1.00_1.5000.t7', 's'),
                        ('stalled', 'no output for 0 minutes', 's')]
        trainer.kill()
        trainer.wait()
        assert watch.wait(timeout=10) == 0  # ends with the trainer
    finally:
        trainer.kill()
        trainer.wait()


def test_a_failing_command_is_logged_and_nothing_else_happens(run, tmp_path):
    _notifications.write_command(str(run.log), 'echo no mail here >&2; exit 3')
    assert run.notifier('end', MARKER + it(100) + '[charrnn] run ended: exit status 0\n').wait(timeout=30) == 0
    said = '[charrnn] notify: finished (trained all 100 iterations): command exited 3: no mail here'
    assert run.log.read_text().splitlines()[-1] == said


def test_the_command_is_kept_for_its_user_only_and_on_no_command_line(tmp_path):
    log = str(tmp_path / 'train.log')
    path = _notifications.write_command(log, 'curl -d x https://hooks.example.invalid/secret-token')
    assert path == log + '.notify' and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    argv = _notifications.notifier_argv('/usr/bin/python3', 'watch', log, 's', log + '.pid', 1800)
    assert not any('secret-token' in a for a in argv)
    assert argv[3:9] == ['watch', path, 's', log, log + '.pid', '1800']
