# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import tempfile
import subprocess
import sys
import time

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.modules import checkpoint

SESSION = 'unit-ckpt-%d' % os.getpid()  # never a real screen session


def run(module_runner, args, **kw):
    # never the default checkout of the machine running the tests
    args = dict({'session': SESSION, 'chdir': tempfile.gettempdir()}, **args)
    return module_runner(checkpoint.main, args, **kw)


def _ckpt(cv, name, mtime):
    p = cv / name
    p.write_bytes(b'x' * 100)
    os.utime(str(p), (mtime, mtime))
    return p


def _log(cv, lines, session=SESSION):
    path = _paths.default_log_path(str(cv), session)
    with open(path, 'w') as f:
        f.write('[charrnn] run started test\n')
        for line in lines:
            f.write(line + '\t\n')
    return path


@pytest.mark.parametrize('override,fragment', [
    ({'wait': 'forever'}, 'wait'),
    ({'timeout': -1}, 'timeout must be >= 0'),
    ({'sleep': 0}, 'sleep must be > 0'),
    ({'timeout': 'soon'}, 'timeout'),
    ({'savefile': 'a/b'}, 'not a valid char-rnn savefile name'),
    ({'session': 'a b'}, 'not a usable screen session name'),
    ({'newer_than': '/x.t7'}, 'newer_than is only used with wait=new'),
    ({'wait': 'new', 'newer_than': '/nonexistent/lm_lstm_epoch1.00_1.0000.t7'}, 'does not exist'),
])
def test_invalid_options(module_runner, module_fail, tmp_path, override, fragment):
    with pytest.raises(module_fail) as e:
        run(module_runner, dict({'checkpoint_dir': str(tmp_path)}, **override))
    assert fragment in e.value.result['msg']


def test_missing_checkpoint_dir_option(module_runner, module_fail):
    with pytest.raises(module_fail) as e:
        module_runner(checkpoint.main, {})
    assert 'checkpoint_dir' in e.value.result['msg']


def test_report_lists_in_write_order(module_runner, tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    now = time.time()
    _ckpt(cv, 'lm_lstm_epoch9.46_1.6000.t7', now - 300)
    _ckpt(cv, 'lm_lstm_epoch11.82_1.5000.t7', now - 200)
    _ckpt(cv, 'lm_lstm_epoch0.50_1.5500.t7', now - 100)  # resumed run
    _ckpt(cv, 'lm_big_epoch1.00_0.1000.t7', now - 50)
    r = run(module_runner, {'checkpoint_dir': 'cv', 'chdir': str(tmp_path)}, check_mode=True)
    assert r['changed'] is False and r['timed_out'] is False
    assert [c['epoch'] for c in r['checkpoints']] == [9.46, 11.82, 0.5]
    assert r['latest']['name'] == 'lm_lstm_epoch0.50_1.5500.t7'
    assert r['best']['name'] == 'lm_lstm_epoch11.82_1.5000.t7'
    assert r['in_progress'] == [] and r['found'] is None
    assert r['training']['status'] == 'not_started' and r['training']['running'] is False
    assert 'elapsed' in r


def test_wait_fails_fast_when_nothing_runs(module_runner, module_fail, tmp_path):
    start = time.time()
    with pytest.raises(module_fail) as e:
        run(module_runner, {'checkpoint_dir': str(tmp_path), 'wait': 'first', 'timeout': 600})
    assert time.time() - start < 5
    assert 'is not running and its log' in e.value.result['msg']
    assert e.value.result['timed_out'] is False


def test_wait_fails_fast_with_log_tail_after_crash(module_runner, module_fail, tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    lines = ['line %d' % i for i in range(30)] + [
        'vocab size: 65', '/opt/torch/install/bin/luajit: train.lua:10: boom', 'stack traceback:',
        "\t[C]: in function 'error'"]
    path = _log(cv, lines)
    with open(path, 'a') as f:
        f.write('[charrnn] run ended: exit status 1\n')
    with pytest.raises(module_fail) as e:
        run(module_runner, {'checkpoint_dir': str(cv), 'wait': 'first', 'timeout': 600})
    res = e.value.result
    assert 'has ended (status error)' in res['msg'] and 'train.lua:10: boom' in res['msg']
    assert len(res['log_tail']) == 20 and res['log_tail'][-1] == '[charrnn] run ended: exit status 1'
    assert res['training']['errors'][0].endswith('boom')


def test_wait_new_after_nan_abort(module_runner, module_fail, tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    old = _ckpt(cv, 'lm_lstm_epoch1.00_2.0000.t7', time.time() - 100)
    _log(cv, ['saving checkpoint to cv/lm_lstm_epoch1.00_2.0000.t7',
              '5/100 (epoch 0.050), train_loss = nan, grad/param norm = nan, time/batch = 0.1000s',
              'loss is NaN.  This usually indicates a bug.', '[charrnn] run ended: exit status 0'])
    with pytest.raises(module_fail) as e:
        run(module_runner, {'checkpoint_dir': str(cv), 'wait': 'new', 'timeout': 600})
    res = e.value.result
    assert res['newer_than'] == str(old)
    assert 'status nan' in res['msg'] and 'loss is NaN' in res['msg']
    # the same directory without waiting reports fine
    r = run(module_runner, {'checkpoint_dir': str(cv)})
    assert r['latest']['path'] == str(old) and r['training']['status'] == 'nan'


def test_wait_first_succeeds_when_checkpoint_exists_after_end(module_runner, tmp_path):
    cv = tmp_path / 'cv'
    cv.mkdir()
    # the save line is the last trainer line, the trainer has gone: complete once the size is stable
    _ckpt(cv, 'lm_lstm_epoch1.00_2.0000.t7', time.time())
    _log(cv, ['saving checkpoint to cv/lm_lstm_epoch1.00_2.0000.t7', '[charrnn] run ended: exit status 0'])
    r = run(module_runner, {'checkpoint_dir': str(cv), 'wait': 'first', 'timeout': 5})
    assert r['found']['name'] == 'lm_lstm_epoch1.00_2.0000.t7'


@pytest.fixture
def live_trainer(charrnn_dir, stand_in_th):
    """The stand-in trainer running as a plain process, its pid in the log's pid file."""
    procs = []

    def start(env_extra, session=SESSION):
        cv = charrnn_dir / 'cv'
        cv.mkdir(exist_ok=True)
        log = _paths.default_log_path(str(cv), session)
        env = dict(os.environ, **env_extra)
        with open(log, 'a') as f:
            f.write('[charrnn] run started test\n')
        out = open(log, 'a')
        proc = subprocess.Popen([sys.executable, stand_in_th, 'train.lua', '-data_dir', 'data/tiny', '-batch_size', '10',
                                 '-seq_length', '50', '-eval_val_every', '15', '-max_epochs', '1', '-gpuid', '-1'],
                                cwd=str(charrnn_dir), stdout=out, stderr=subprocess.STDOUT, env=env)
        out.close()
        with open(_paths.pid_path(log), 'w') as f:
            f.write('%d\n' % proc.pid)
        procs.append(proc)
        end = time.time() + 5  # Popen can return before the child's exec is visible in /proc
        while time.time() < end and not _processes.is_script_process(proc.pid, 'train.lua'):
            time.sleep(0.01)
        return proc, cv
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_wait_times_out_with_progress(module_runner, module_fail, live_trainer):
    proc, cv = live_trainer({'STANDIN_SLEEP': '0.2'})
    start = time.time()
    with pytest.raises(module_fail) as e:
        run(module_runner, {'checkpoint_dir': str(cv), 'wait': 'first', 'timeout': 1, 'sleep': 0.2})
    res = e.value.result
    assert 1 <= time.time() - start < 5
    assert res['timed_out'] is True and res['elapsed'] >= 1
    assert 'Timed out after' in res['msg']
    assert re.search(r'; progress: iteration \S+/\S+, epoch \S+, train_loss \S+, \S+ s/batch, ETA \S+s \(status \w+\)\. '
                     r'Training goes on in screen session \S+; its log is \S+\. Raise timeout, or lower eval_val_every in the '
                     r'training options\.$', res['msg']), res['msg']
    assert res['training']['running'] is True and res['training']['pid'] == proc.pid


def test_a_timeout_advises_in_the_callers_terms(module_runner, module_fail, live_trainer):
    dummy, cv = live_trainer({'STANDIN_SLEEP': '0.2'})
    hint = 'Raise charrnn_first_checkpoint_timeout, or lower eval_val_every in charrnn_train_options.'
    with pytest.raises(module_fail) as e:
        run(module_runner, {'checkpoint_dir': str(cv), 'wait': 'first', 'timeout': 0, 'sleep': 0.2, 'timeout_hint': hint})
    assert e.value.result['timed_out'] is True and e.value.result['msg'].endswith('. ' + hint)


def test_wait_first_then_new_with_live_trainer(module_runner, live_trainer):
    proc, cv = live_trainer({'STANDIN_SLEEP': '0.05', 'STANDIN_SAVE_DELAY': '0.05'})
    r = run(module_runner, {'checkpoint_dir': str(cv), 'wait': 'first', 'timeout': 20, 'sleep': 0.05})
    first = r['found']
    assert first['name'][:18] in ('lm_lstm_epoch0.39_', 'lm_lstm_epoch0.79_')  # iteration 15 (or 30) of 38
    assert first == r['latest']
    assert all(c['path'] != first['path'] for c in r['in_progress'])
    r2 = run(module_runner, {'checkpoint_dir': str(cv), 'wait': 'new', 'newer_than': first['path'],
                             'timeout': 20, 'sleep': 0.05})
    # iteration 30 (or, on a slow machine, already the last one, 38): the latest new one
    assert r2['found']['name'][:18] in ('lm_lstm_epoch0.79_', 'lm_lstm_epoch1.00_')
    assert r2['found'] == r2['latest']
    assert r2['found']['size'] == os.path.getsize(r2['found']['path'])
    assert r2['newer_than'] == first['path']
    proc.wait(20)
    r3 = run(module_runner, {'checkpoint_dir': str(cv)})
    expected = ['lm_lstm_epoch0.39_', 'lm_lstm_epoch0.79_', 'lm_lstm_epoch1.00_']
    assert [c['name'][:18] for c in r3['checkpoints']] == expected
    assert r3['training']['iteration'] == 38 and r3['training']['running'] is False
