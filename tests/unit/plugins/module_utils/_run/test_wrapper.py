# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import requested_checkpoints as _requested_checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import wrapper as _wrapper


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
    env = _threads.thread_env(2, 3)
    argv = _wrapper.build_wrapper(str(chdir), [str(script), 'train.lua', '-savefile', 'a b;$(touch x)'],
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
    assert _log.exit_status(lines) == 3
    assert not (chdir / 'x').exists()


def _prune(directory, lineage, keep):
    subprocess.check_call(['/bin/sh', '-c', _wrapper.PRUNE_FUNCTION + '; prune "$@"', 'sh',
                           str(directory), str(keep), _wrapper.lineage_pattern(lineage)])
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
    assert _prune(tmp_path, ['lstm', 'lstm.run2'], 2) == sorted([
        'lm_lstm_epoch2.00_1.2000.t7', 'lm_lstm.run2_epoch1.00_nan.t7', 'lm_lstm.run2_epoch1.50_1.3000.t7',
        'lm_gru_epoch1.00_0.1000.t7', 'notes.txt'])
    assert _prune(tmp_path, ['lstm', 'lstm.run2'], 1) == sorted([
        'lm_lstm_epoch2.00_1.2000.t7', 'lm_lstm.run2_epoch1.50_1.3000.t7', 'lm_gru_epoch1.00_0.1000.t7',
        'notes.txt'])


def test_prune_leaves_other_models_alone(tmp_path):
    names = [  # oldest first
        'lm_lstm_epoch1.00_1.9000.t7',
        'lm_lstm_epochs_epoch1.00_1.1000.t7',  # savefile lstm_epochs: not lstm's
        'lm_lstm.run3_epoch1.00_1.0000.t7',     # a new model under a run savefile, outside the lineage
        'lm_lstm_epoch2.00_1.5000.t7',
        'lm_lstm.run2_epoch0.50_1.4000.t7',
        'lm_lstm_epoch3.00_1.3000.t7.incomplete',
        'lm_lstmx_epoch1.00_0.9000.t7',
        'lm_lstm.run2_epoch1.00_1.3000.t7',
    ]
    for i, name in enumerate(names):
        (tmp_path / name).write_text('x')
        os.utime(str(tmp_path / name), (1000 + i, 1000 + i))
    assert _prune(tmp_path, ['lstm', 'lstm.run2'], 1) == sorted(
        ['lm_lstm_epochs_epoch1.00_1.1000.t7', 'lm_lstm.run3_epoch1.00_1.0000.t7', 'lm_lstm_epoch3.00_1.3000.t7.incomplete',
         'lm_lstmx_epoch1.00_0.9000.t7', 'lm_lstm.run2_epoch1.00_1.3000.t7'])


@pytest.mark.parametrize('savefile', ['a.b', 'x+y', 'we[ir]d(1)|$^*?{2}', "it's"])
def test_a_lineage_pattern_takes_savefiles_literally(savefile):
    pattern = _wrapper.lineage_pattern([savefile])
    name = 'lm_%s_epoch1.00_1.2000.t7' % savefile
    names = '%s\nlm_ab_epoch1.00_1.0.t7\nlm_%s_epoch1.00_1.2000.t7x\n' % (name, savefile)
    proc = subprocess.run(['grep', '-E', '--', pattern], input=names.encode(), stdout=subprocess.PIPE, check=False)
    assert proc.stdout.decode().splitlines() == [name]


def test_prune_of_an_empty_or_missing_directory_does_nothing(tmp_path):
    assert _prune(tmp_path, ['lstm'], 3) == []
    assert subprocess.call(['/bin/sh', '-c', _wrapper.PRUNE_FUNCTION + '; prune "$@"', 'sh',
                            str(tmp_path / 'missing'), '3', _wrapper.lineage_pattern(['lstm'])]) == 0


def test_wrapper_prunes_while_and_after_the_trainer_runs(tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    # writes five checkpoints, the third the best, then exits
    script = _fake_trainer(tmp_path / 'fake-trainer', 'for l in 1.9 1.5 1.1 1.4 1.3; do touch "cv/lm_lstm_epoch$l""0_$l.t7"; '
                           'sleep 0.3; done\n')
    log = tmp_path / 'train.log'
    argv = _wrapper.build_wrapper(str(tmp_path), [str(script)], _threads.thread_env(1), str(log),
                                  str(log) + '.pid', keep=1, checkpoint_dir=str(cv), lineage=['lstm'],
                                  prune_every=1)
    subprocess.check_call(argv)
    assert sorted(os.listdir(str(cv))) == ['lm_lstm_epoch1.10_1.1.t7', 'lm_lstm_epoch1.30_1.3.t7']
    assert log.read_text().splitlines()[-1] == '[charrnn] run ended: exit status 0'


def test_helpers_run_beside_the_trainer_and_end_with_it_then_after_runs(tmp_path):
    script = _fake_trainer(tmp_path / 'trainer', 'sleep 0.5\necho trained\n')
    log = tmp_path / 'train.log'
    helper = _fake_trainer(tmp_path / 'helper', 'echo "helping $1" >> "$2"\necho $$ >> "$2.helpers"\nexec sleep 60\n')
    after = _fake_trainer(tmp_path / 'after', 'echo "after: $(tail -n 1 "$1")" >> "$1"\n')
    argv = _wrapper.build_wrapper(str(tmp_path), [str(script)], {}, str(log), str(log) + '.pid',
                                  helpers=[[str(helper), "it's", str(log)], [str(helper), 'two', str(log)]],
                                  after=[str(after), str(log)])
    subprocess.check_call(argv, timeout=30)
    lines = log.read_text().splitlines()
    assert sorted(lines[:2]) == ['helping it\'s', 'helping two']
    assert lines[2:] == ['trained', '[charrnn] run ended: exit status 0',
                         'after: [charrnn] run ended: exit status 0']
    pids = [int(p) for p in (tmp_path / 'train.log.helpers').read_text().split()]
    assert len(pids) == 2
    time.sleep(0.2)
    assert not any(_processes.pid_alive(p) for p in pids)  # both ended with the trainer


def test_a_stop_sent_to_the_whole_wrapper_reaches_only_the_trainer(tmp_path):
    """With the trainer exec giving the trainer its stop signals back, the wrapper and its tee outlive a SIGTERM
    to every process (as a shutdown sends it) and log how the trainer ended."""
    script = _fake_trainer(tmp_path / 'trainer', 'echo started\nexec sleep 60\n')
    log = tmp_path / 'train.log'
    argv = _wrapper.build_wrapper(str(tmp_path), [str(script)], {}, str(log), str(log) + '.pid',
                                  exec_prefix=_requested_checkpoints.trainer_exec(sys.executable, False))
    wrapper = subprocess.Popen(argv, start_new_session=True)
    end = time.time() + 10
    while 'started' not in (log.read_text() if log.exists() else '') and time.time() < end:
        time.sleep(0.05)
    os.killpg(wrapper.pid, signal.SIGTERM)
    assert wrapper.wait(timeout=10) == 0
    assert log.read_text().splitlines() == ['started', 'Terminated', '[charrnn] run ended: exit status 143']
