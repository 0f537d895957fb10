# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Unit tests of the train module.  screen is replaced by a fake that runs the
wrapper as a plain process group (the integration tests use the real one)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import resources as _resources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import screen as _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import supervision as _supervision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _supervisor
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import trainer as _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.modules import train

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils', '_run'))
from test_supervision import FakeSystemctl  # noqa: E402


class FakeScreen:
    def __init__(self):
        self.procs = {}
        self.started = []

    def start_session(self, screen_bin, name, argv, runner, cwd=None):
        self.started.append((name, argv))
        proc = subprocess.Popen(argv, cwd=cwd, start_new_session=True)
        self.procs[name] = proc
        return 0, ''

    def find_sessions(self, screen_bin, name, runner):
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return []
        return [{'pid': proc.pid, 'name': name, 'id': '%d.%s' % (proc.pid, name), 'state': 'Detached',
                 'alive': True}]

    def quit_session(self, screen_bin, session_id, runner):
        name = session_id.split('.', 1)[1]
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGHUP)
            proc.wait(5)
        return 0

    def cleanup(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait(5)


@pytest.fixture
def fake_screen(monkeypatch):
    fake = FakeScreen()
    monkeypatch.setattr(_screen, 'start_session', fake.start_session)
    monkeypatch.setattr(_screen, 'find_sessions', fake.find_sessions)
    monkeypatch.setattr(_screen, 'quit_session', fake.quit_session)
    monkeypatch.setattr(_screen, 'wipe', lambda *a, **k: None)
    yield fake
    fake.cleanup()


@pytest.fixture
def base_args(charrnn_dir, stand_in_th, request):
    session = 'unit-%s-%d' % (request.node.name[:30].replace('[', '-').replace(']', '').replace('.', '-'),
                              os.getpid())
    session = ''.join(c if c.isalnum() or c in '_+-' else '-' for c in session)
    request.addfinalizer(lambda: os.path.exists(_paths.lock_path(session)) and os.unlink(_paths.lock_path(session)))
    return {
        'chdir': str(charrnn_dir), 'data_dir': 'data/tiny', 'th': stand_in_th, 'session': session,
        'threads': 1, 'stop_timeout': 3,
        'options': {'batch_size': 10, 'seq_length': 50, 'eval_val_every': 10, 'max_epochs': 1},
    }


def run(module_runner, args, **kw):
    return module_runner(train.main, args, **kw)


@pytest.mark.parametrize('override,fragment', [
    ({'state': 'running'}, 'state'),
    ({'options': {'rnn_size': 'big'}}, 'options.rnn_size must be an integer'),
    ({'options': {'model': 'transformer'}}, 'options.model must be one of lstm, gru, rnn'),
    ({'options': {'data_dir': 'x'}}, "use the module option 'data_dir'"),
    ({'options': {'init_from': 'x'}}, "use the module option 'resume'"),
    ({'options': {'gpuid': 1}}, "use the module option 'gpuid'"),
    ({'options': {'checkpoint_dir': 'x'}}, "use the module option 'checkpoint_dir'"),
    ({'options': {'no_such_flag': 1}}, 'not a train.lua flag'),
    ({'options': {'dropout': 2}}, 'options.dropout must be >= 0 and < 1'),
    ({'session': 'has space'}, 'not a usable screen session name'),
    ({'session': 'a.b'}, 'not a usable screen session name'),
    ({'gpuid': -2}, 'gpuid must be -1'),
    ({'keep': -1}, 'keep must be 0'),
    ({'keep': 'all'}, 'keep'),
    ({'gpuid': 'first'}, 'gpuid'),
    ({'threads': 0}, 'threads must be >= 1'),
    ({'omp_threads': 0}, 'omp_threads must be >= 1'),
    ({'resume': 'maybe'}, 'resume'),
    ({'stop_timeout': -1}, 'stop_timeout must be >= 0'),
    ({'interruption_notice': 'aws'}, 'value of interruption_notice must be one of: none, ec2, gcp, got: aws'),
    ({'interruption_notice_url': 'http://127.0.0.1:9/x'}, 'interruption_notice_url needs interruption_notice ec2 or gcp'),
    ({'interruption_notice': 'ec2', 'interruption_notice_url': 'ftp://x'},
     "interruption_notice_url must be an http:// or https:// URL, got 'ftp://x'"),
    ({'checkpoint_minutes': -1}, 'checkpoint_minutes must be 0 (no checkpoints asked for by time) or more, got -1'),
    ({'precision': 'half'}, 'value of precision must be one of: float, double, got: half'),
    ({'precision': 'single'}, 'value of precision must be one of: float, double'),
    ({'startup_timeout': 0}, 'startup_timeout must be >= 1'),
    ({'require_resume': True, 'resume': False}, 'require_resume needs resume=true'),
    ({'no_such_option': 1}, 'no_such_option'),
    ({'patience': -1}, 'patience must be 0 (no early stopping) or a number of validations, got -1'),
    ({'patience': 3, 'min_delta': -0.5}, 'min_delta must be 0 or more'),
    ({'min_delta': 0.1}, 'min_delta needs patience'),
])
def test_invalid_options(module_runner, module_fail, base_args, override, fragment):
    args = dict(base_args, **override)
    with pytest.raises(module_fail) as e:
        run(module_runner, args, check_mode=True)
    assert fragment in e.value.result['msg']


def test_preflight_failures(module_runner, module_fail, base_args, charrnn_dir, tmp_path):
    def fails(override, fragment, prepare=None):
        if prepare:
            prepare()
        with pytest.raises(module_fail) as e:
            run(module_runner, dict(base_args, **override), check_mode=True)
        assert fragment in e.value.result['msg'], e.value.result['msg']

    fails({'chdir': str(tmp_path / 'nope')}, 'is not a directory')
    empty = tmp_path / 'empty'
    empty.mkdir()
    fails({'chdir': str(empty)}, 'train.lua not found in chdir')
    fails({'th': str(tmp_path / 'no-th')}, 'does not exist')
    notexec = tmp_path / 'th'
    notexec.write_text('x')
    fails({'th': str(notexec)}, 'is not executable')
    fails({'data_dir': 'data/missing'}, 'data_dir data/missing does not exist')
    fails({'options': {'batch_size': 100, 'seq_length': 150}}, 'input.txt is too small')
    fails({'options': {'batch_size': 200, 'seq_length': 101}}, 'too small for one training batch')
    data = charrnn_dir / 'data'
    (data / 'empty').mkdir()
    (data / 'empty' / 'input.txt').write_text('')
    fails({'data_dir': 'data/empty'}, 'data/empty/input.txt is empty')
    (data / 'nodata').mkdir()
    fails({'data_dir': 'data/nodata'}, 'data/nodata/input.txt is missing')
    (data / 'dir' / 'input.txt').mkdir(parents=True)
    fails({'data_dir': 'data/dir'}, 'data/dir/input.txt is a directory')
    (data / 'plain').write_text('x')
    fails({'data_dir': 'data/plain'}, 'data_dir data/plain is not a directory')
    if os.geteuid() != 0:  # root reads anything
        (data / 'locked').mkdir()
        (data / 'locked' / 'input.txt').write_text('x' * 20000)
        os.chmod(str(data / 'locked' / 'input.txt'), 0)
        fails({'data_dir': 'data/locked'}, 'input.txt is not readable by this user')
    (charrnn_dir / 'afile').write_text('x')
    fails({'checkpoint_dir': 'afile/cv'}, 'checkpoint_dir')
    fails({'log_path': str(charrnn_dir / 'afile' / 'x.log')}, 'log directory')


def test_refuses_to_start_without_disk_space_for_the_checkpoints(module_runner, module_fail, base_args,
                                                                 charrnn_dir, fake_screen, monkeypatch):
    class Full:
        f_bavail, f_frsize = 10, 4096
    monkeypatch.setattr(os, 'statvfs', lambda path: Full())
    with pytest.raises(module_fail) as e:
        run(module_runner, base_args)
    assert 'not enough free disk space for checkpoints' in e.value.result['msg']
    assert fake_screen.started == []
    assert not (charrnn_dir / 'cv').exists()


def test_check_mode_starts_nothing(module_runner, base_args, charrnn_dir, fake_screen):
    r = run(module_runner, base_args, check_mode=True)
    assert r['changed'] is True and r['pid'] is None
    assert r['precision'] == 'float'
    assert r['command'][1:] == [r['log_path'] + '.prelude.lua', 'float',
                                'train.lua', '-data_dir', 'data/tiny', '-checkpoint_dir', 'cv', '-gpuid', '-1',
                                '-seq_length', '50', '-batch_size', '10', '-max_epochs', '1', '-eval_val_every',
                                '10']
    assert r['env'] == {'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1', 'OMP_WAIT_POLICY': 'PASSIVE',
                        'CHARRNN_CHECKPOINT_SECONDS': '600'}
    assert r['log_path'] == str(charrnn_dir / 'cv' / ('train-%s.log' % base_args['session']))
    assert r['dataset']['train_batches'] == 38
    assert fake_screen.started == []
    assert not (charrnn_dir / 'cv').exists()


def test_check_mode_reports_resume(module_runner, base_args, charrnn_dir, fake_screen, stand_in_checkpoint):
    cv = charrnn_dir / 'cv'
    cv.mkdir()
    corpus = (charrnn_dir / 'data' / 'tiny' / 'input.txt').read_bytes()
    old = cv / 'lm_lstm_epoch9.00_1.5000.t7'
    new = cv / 'lm_lstm_epoch1.00_1.4000.t7'  # a resumed run: lower epoch, written later
    other = cv / 'lm_gru_epoch5.00_1.0000.t7'
    for i, p in enumerate((old, new, other)):
        stand_in_checkpoint(p, corpus, mtime=1000 + i)
    r = run(module_runner, base_args, check_mode=True)
    assert r['resumed_from'] == str(new)
    assert r['command'][-2:] == ['-init_from', str(new)]
    assert r['savefile'] == 'lstm.run2'
    assert r['not_resumed'] is None and not [w for w in r['warnings'] if 'resum' in w]
    stand_in_checkpoint(cv / 'lm_lstm.run7_epoch0.50_1.3000.t7', corpus, mtime=1010)
    r = run(module_runner, base_args, check_mode=True)
    assert r['savefile'] == 'lstm.run8'
    assert r['resumed_from'] == str(cv / 'lm_lstm.run7_epoch0.50_1.3000.t7')
    r = run(module_runner, dict(base_args, resume=False), check_mode=True)
    assert r['resumed_from'] is None and '-init_from' not in r['command']
    r = run(module_runner, dict(base_args, options=dict(base_args['options'], savefile='gru')), check_mode=True)
    assert r['resumed_from'] == str(other)


def _wait_for(predicate, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_start_idempotent_then_stop(module_runner, base_args, charrnn_dir, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    r = run(module_runner, args)
    assert r['changed'] is True and r['running'] is True
    pid = r['pid']
    assert pid and _processes.is_script_process(pid, 'train.lua')
    assert len(fake_screen.started) == 1
    log = r['log_path']
    state = _state.read_state(log)
    assert state['pid'] == pid and state['command'] == r['command']

    r2 = run(module_runner, args)
    assert r2['changed'] is False and r2['pid'] == pid and r2['command'] == r['command']
    assert r2['warnings'] == []
    assert len(fake_screen.started) == 1

    r3 = run(module_runner, dict(args, options=dict(args['options'], rnn_size=64)))
    assert r3['changed'] is False
    assert any('already runs a different command' in w for w in r3['warnings'])

    def trained_a_bit():
        with open(log) as f:
            return '/1900 (epoch ' in f.read()
    assert _wait_for(trained_a_bit)
    r4 = run(module_runner, dict(args, state='stopped'))
    assert r4['changed'] is True and r4['stopped_pids'] == [pid] and r4['pid'] is None
    assert _wait_for(lambda: not _processes.pid_alive(pid))
    with open(log) as f:
        lines = [line.rstrip('\t\n') for line in f]
    # the trainer saved the iteration under way, said so, and exited by itself
    assert lines[-1] == '[charrnn] run ended: exit status 0'
    stopped = _log.parse_line(lines[-2])
    assert stopped['kind'] == 'stopped' and stopped['signal'] == 'SIGTERM'
    assert lines[-4] == 'saving checkpoint to ' + stopped['path']
    assert lines[-3].startswith('%d/1900 (epoch ' % stopped['iteration'])
    assert os.path.isfile(os.path.join(str(charrnn_dir), stopped['path']))
    r5 = run(module_runner, dict(args, state='stopped'))
    assert r5['changed'] is False
    r6 = run(module_runner, args)  # a stopped run is not a finished one: started trains again, from its checkpoint
    assert r6['changed'] is True and r6['finished'] is False
    assert r6['resumed_from'] == os.path.join(str(charrnn_dir), stopped['path'])
    run(module_runner, dict(args, state='stopped'))


def test_checkpoint_minutes_reach_the_prelude_and_are_not_a_setting_of_the_run(module_runner, base_args,
                                                                               fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    r = run(module_runner, dict(args, checkpoint_minutes=0))
    assert r['env']['CHARRNN_CHECKPOINT_SECONDS'] == '0'
    assert _state.read_state(r['log_path'])['env']['CHARRNN_CHECKPOINT_SECONDS'] == '0'
    again = run(module_runner, dict(args, checkpoint_minutes=5))
    assert again['changed'] is False and again['warnings'] == []
    assert again['env']['CHARRNN_CHECKPOINT_SECONDS'] == '0'  # as the running trainer has it
    run(module_runner, dict(args, state='stopped'))


def test_double_warns_that_nothing_saves_on_a_stop(module_runner, base_args, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    r = run(module_runner, dict(base_args, precision='double', options=dict(base_args['options'], max_epochs=50)))
    assert 'CHARRNN_CHECKPOINT_SECONDS' not in r['env']
    assert any(w.startswith('precision=double runs char-rnn\'s train.lua itself, without the prelude: the trainer '
                            'saves no checkpoint when it is stopped') for w in r['warnings'])
    stopped = run(module_runner, dict(base_args, state='stopped'))
    assert stopped['stopped_pids'] == [r['pid']]
    with open(r['log_path']) as f:
        text = f.read()
    assert '[charrnn] run ended: exit status 143' in text and 'stopped on SIGTERM' not in text


def test_restart_resumes_from_latest(module_runner, base_args, charrnn_dir, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    r = run(module_runner, base_args)
    assert r['changed'] is True
    # max_epochs 1 with 38 training batches: done quickly, checkpoints at 10, 20, 30 and 38
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    cv = charrnn_dir / 'cv'
    names = sorted(os.listdir(str(cv)))
    assert 'lm_lstm_epoch1.00_' in ' '.join(names)
    first_run = dict((n, (os.stat(str(cv / n)).st_size, os.stat(str(cv / n)).st_mtime_ns))
                     for n in names if n.endswith('.t7'))
    r2 = run(module_runner, dict(base_args, state='restarted'))
    assert r2['changed'] is True
    assert os.path.basename(r2['resumed_from']).startswith('lm_lstm_epoch1.00_')
    assert r2['command'][-2:] == ['-init_from', r2['resumed_from']]
    # The resumed run counts epochs from 0 again, so it writes under a savefile of its own.
    assert r2['savefile'] == 'lstm.run2'
    assert r2['command'][r2['command'].index('-savefile') + 1] == 'lstm.run2'
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    for name, stat in first_run.items():
        assert (os.stat(str(cv / name)).st_size, os.stat(str(cv / name)).st_mtime_ns) == stat, name
    second_run = [n for n in os.listdir(str(cv)) if n.startswith('lm_lstm.run2_epoch')]
    assert len(second_run) == len(first_run)
    # From scratch with the same seed, the third run repeats the first run's losses: still no overwrite.
    r3 = run(module_runner, dict(base_args, state='restarted', resume=False))
    assert r3['savefile'] == 'lstm.run3' and r3['resumed_from'] is None
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    for name, stat in first_run.items():
        assert (os.stat(str(cv / name)).st_size, os.stat(str(cv / name)).st_mtime_ns) == stat, name
    with open(r2['log_path']) as f:
        text = f.read()
    assert text.count('[charrnn] run started') == 3
    assert 'loading a model from checkpoint ' + r2['resumed_from'] in text
    # keep prunes a model's runs together and never another model's
    assert _state.read_state(r3['log_path'])['lineage'] == ['lstm.run3']
    r4 = run(module_runner, dict(base_args, state='restarted', keep=1))
    assert r4['savefile'] == 'lstm.run4' and os.path.basename(r4['resumed_from']).startswith('lm_lstm.run3_epoch1.00_')
    assert _state.read_state(r4['log_path'])['lineage'] == ['lstm.run3', 'lstm.run4']
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    left = os.listdir(str(cv))
    assert sorted(n for n in left if n.startswith(('lm_lstm_', 'lm_lstm.run2_'))) == sorted(list(first_run) + second_run)
    model = [n for n in left if n.startswith(('lm_lstm.run3_', 'lm_lstm.run4_'))]
    assert 1 <= len(model) <= 2, model  # the newest, and the best when it is another


def test_start_fails_when_trainer_dies_at_once(module_runner, module_fail, base_args, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_CRASH_AT', '1')
    monkeypatch.setenv('STANDIN_INIT_DELAY', '0')
    monkeypatch.setattr(_trainer, 'PID_TIMEOUT', 0.01)
    # Never catch it alive: on a busy machine the one look within the timeout could come after the exec.
    monkeypatch.setattr(_processes, 'is_script_process', lambda *a, **k: False)
    with pytest.raises(module_fail) as e:
        run(module_runner, base_args)
    msg = e.value.result['msg']
    assert msg.startswith('the trainer ended before it trained (status 1, error)') and 'not enough memory' in msg
    assert e.value.result['exit_status'] == 1


def test_started_leaves_a_finished_run_alone(module_runner, base_args, charrnn_dir, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    r = run(module_runner, base_args)
    assert r['changed'] is True and r['finished'] is False
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    with open(r['log_path']) as f:
        assert '[charrnn] run ended: exit status 0' in f.read()

    again = run(module_runner, base_args)
    assert again['changed'] is False and again['finished'] is True
    assert again['command'] == r['command']
    assert len(fake_screen.started) == 1
    assert run(module_runner, base_args, check_mode=True)['changed'] is False

    more = run(module_runner, dict(base_args, options=dict(base_args['options'], max_epochs=2)))
    assert more['changed'] is True and more['finished'] is False
    assert more['resumed_from']
    assert len(fake_screen.started) == 2


def test_early_stopping_finishes_a_run_that_a_rerun_leaves_alone(module_runner, base_args, charrnn_dir, fake_screen,
                                                                 monkeypatch, tmp_path):
    monkeypatch.setenv('XDG_DATA_HOME', str(tmp_path / 'data'))
    # validation loss rises after iteration 30 while training loss falls; a validation every 2 s
    monkeypatch.setenv('STANDIN_OVERFIT_AFTER', '30')
    monkeypatch.setenv('STANDIN_SLEEP', '0.2')
    args = dict(base_args, patience=2, options=dict(base_args['options'], max_epochs=5))
    r = run(module_runner, args)
    assert r['changed'] is True and r['finished'] is False and r['early_stop'] is None
    assert _state.read_state(r['log_path'])['early_stopping'] == {'patience': 2, 'min_delta': 0.0}
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None), timeout=60)
    with open(r['log_path']) as f:
        text = f.read()
    # the third validation (iteration 30) is the best; patience ran out two validations later, when the
    # watcher, looking every second, saw it (the next one on a machine too busy to look in time)
    early = [line for line in text.splitlines() if line.startswith('[charrnn] early stop')]
    assert len(early) == 1, early
    stopped_at = int(early[0].split()[5].rstrip(','))
    assert stopped_at in (50, 60), early
    assert early[0].startswith('[charrnn] early stop at iteration %d, best checkpoint cv/lm_lstm_epoch0.79_' % stopped_at)
    assert '%d validation(s) without a new best validation loss since iteration 30' % ((stopped_at - 30) // 10) \
        in early[0]
    assert '[charrnn] stopped on SIGTERM after saving ' in text and '[charrnn] run ended: exit status 0' in text
    last = [line for line in text.splitlines() if line.startswith(('[charrnn] stopped on', '['))][-1]
    assert last == '[charrnn] run ended: exit status 0'
    look = _trainer.Trainer(r['checkpoint_dir'], 'lstm', base_args['session'], r['log_path']).look()
    assert look['training']['status'] == 'finished'
    assert look['training']['early_stop']['best'].endswith(early[0].split('best checkpoint ')[1].split(':')[0])

    again = run(module_runner, args)
    assert again['changed'] is False and again['finished'] is True and again['running'] is False
    assert again['early_stop']['iteration'] == stopped_at
    assert again['early_stop']['best'] == look['training']['early_stop']['best']
    assert again['msg'].startswith('early stopping ended training with these settings at iteration %d (best checkpoint '
                                   % stopped_at)
    assert len(fake_screen.started) == 1
    # without patience too: a finished run is finished, whatever watched it
    assert run(module_runner, dict(args, patience=0))['finished'] is True

    resumed = run(module_runner, dict(args, state='restarted'))
    assert resumed['changed'] is True and resumed['resumed_from'] and resumed['savefile'] == 'lstm.run2'
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None), timeout=60)
    with open(r['log_path']) as f:
        later = [line for line in f.read().splitlines() if line.startswith('[charrnn] early stop')]
    # the resumed run got two validations of its own before it could stop again
    assert len(later) == 2 and int(later[1].split()[5].rstrip(',')) >= stopped_at + 2 * 10


def test_env_forces_the_openblas_core_on_a_fallback(module_runner, base_args, fake_screen, fake_openblas_fallback,
                                                    monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    assert 'OPENBLAS_CORETYPE' not in run(module_runner, base_args, check_mode=True)['env']  # the stand-in's own
    fake_openblas_fallback()
    r = run(module_runner, base_args)
    assert r['env'] == {'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1', 'OMP_WAIT_POLICY': 'PASSIVE',
                        'OPENBLAS_CORETYPE': 'SkylakeX', 'CHARRNN_CHECKPOINT_SECONDS': '600'}
    assert _state.read_state(r['log_path'])['env'] == r['env']
    wrapper = fake_screen.started[0][1][-1]
    assert 'OPENBLAS_CORETYPE=SkylakeX' in wrapper and 'OPENBLAS_NUM_THREADS=1' in wrapper
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))


def test_the_users_openblas_core_wins(module_runner, base_args, fake_screen, fake_openblas_fallback, monkeypatch):
    fake_openblas_fallback()
    monkeypatch.setenv('OPENBLAS_CORETYPE', 'Haswell')  # the task's environment: the trainer inherits it
    r = run(module_runner, base_args, check_mode=True)
    assert 'OPENBLAS_CORETYPE' not in r['env']


def test_a_run_recorded_before_the_core_override_runs_the_same_settings(module_runner, base_args, fake_screen,
                                                                        fake_openblas_fallback, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    r = run(module_runner, args)
    assert 'OPENBLAS_CORETYPE' not in r['env']
    fake_openblas_fallback()
    same = run(module_runner, args)
    assert same['changed'] is False and same['pid'] == r['pid'] and same['warnings'] == []
    assert same['env'] == r['env']  # what runs, as recorded
    other = run(module_runner, dict(args, threads=2))
    assert other['changed'] is False and len(other['warnings']) == 1
    assert 'already runs a different command' in other['warnings'][0]
    run(module_runner, dict(args, state='stopped'))


def test_a_run_finished_before_the_core_override_stays_finished(module_runner, base_args, fake_screen,
                                                                fake_openblas_fallback, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    r = run(module_runner, base_args)
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    fake_openblas_fallback()
    done = run(module_runner, base_args)
    assert done['changed'] is False and done['finished'] is True and done['command'] == r['command']
    assert len(fake_screen.started) == 1
    # other threads are other settings: started trains again
    more = run(module_runner, dict(base_args, threads=2))
    assert more['changed'] is True and more['finished'] is False
    assert more['env']['OPENBLAS_CORETYPE'] == 'SkylakeX'
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))


def test_double_runs_train_lua_itself(module_runner, base_args, fake_screen):
    r = run(module_runner, dict(base_args, precision='double'), check_mode=True)
    assert r['precision'] == 'double'
    assert r['command'][1:] == ['train.lua', '-data_dir', 'data/tiny', '-checkpoint_dir', 'cv', '-gpuid', '-1',
                                '-seq_length', '50', '-batch_size', '10', '-max_epochs', '1', '-eval_val_every',
                                '10']


def test_float_run_installs_the_prelude_and_saves_double_checkpoints(module_runner, base_args, charrnn_dir,
                                                                     fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    r = run(module_runner, base_args)
    prelude = r['log_path'] + '.prelude.lua'
    assert r['command'][1:4] == [prelude, 'float', 'train.lua']
    with open(prelude) as f:
        assert f.read() == _precision.PRELUDE_SCRIPT
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    with open(r['log_path']) as f:
        log = f.read()
    assert '[charrnn] precision float: train.lua computes in torch.FloatTensor' in log
    assert '[charrnn] run ended: exit status 0' in log
    cv = charrnn_dir / 'cv'
    saved = [n for n in os.listdir(str(cv)) if n.endswith('.t7')]
    assert saved
    for name in saved:
        assert b'"tensor_type": "torch.DoubleTensor"' in (cv / name).read_bytes()
    assert sorted(n for n in os.listdir(str(cv)) if not n.endswith('.t7')) == sorted(
        os.path.basename(r['log_path']) + suffix for suffix in ('', '.events', '.pid', '.prelude.lua', '.state.json'))


def test_a_start_replaces_the_file_earlier_releases_ran_train_lua_through(module_runner, base_args, charrnn_dir,
                                                                          fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    log_path = run(module_runner, base_args, check_mode=True)['log_path']
    os.makedirs(os.path.dirname(log_path))
    with open(log_path + '.launcher.lua', 'w') as f:
        f.write('-- rnn_bootstrap.charrnn precision launcher: written by an earlier release\n')
    r = run(module_runner, base_args)
    assert r['command'][1] == log_path + '.prelude.lua'
    assert not os.path.exists(log_path + '.launcher.lua')


def test_a_run_started_before_the_prelude_was_renamed_is_the_same_run(module_runner, base_args, fake_screen,
                                                                      monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    first = run(module_runner, args)
    # what a trainer started by a release up to 1.0.0 recorded: its prelude under the former name
    state = _state.read_state(first['log_path'])
    state['base_command'][1] = first['log_path'] + '.launcher.lua'
    _state.write_state(first['log_path'], state)
    again = run(module_runner, args)
    assert again['changed'] is False and again['pid'] == first['pid'] and again['warnings'] == []
    asked_otherwise = run(module_runner, dict(args, options=dict(args['options'], rnn_size=64)))
    assert 'already runs a different command' in asked_otherwise['warnings'][0]
    run(module_runner, dict(args, state='stopped'))


def test_a_prelude_that_cannot_be_written_changes_nothing(module_runner, module_fail, base_args, fake_screen,
                                                          monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    first = run(module_runner, dict(args, precision='double'))

    def full(path):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_precision, 'install_prelude', full)
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(args, state='restarted'))
    assert 'cannot write the train.lua prelude' in e.value.result['msg']
    assert 'No space left on device' in e.value.result['msg']
    assert _processes.is_script_process(first['pid'], 'train.lua')  # the running trainer was not stopped
    assert len(fake_screen.started) == 1
    run(module_runner, dict(args, state='stopped'))


def test_an_unknown_lstm_step_in_the_environment_changes_nothing(module_runner, module_fail, base_args,
                                                                 fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    first = run(module_runner, args)
    monkeypatch.setenv('CHARRNN_LSTM_STEP', 'Graph')
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(args, state='restarted'))
    assert e.value.result['msg'] == ("CHARRNN_LSTM_STEP='Graph' in the task's environment: it must be fused or "
                                     "graph (char-rnn's own clones), or unset; nothing was stopped or started")
    assert _processes.is_script_process(first['pid'], 'train.lua')  # the running trainer was not stopped
    assert len(fake_screen.started) == 1
    assert run(module_runner, dict(args, precision='double', state='started'))['pid'] == first['pid']  # not read
    run(module_runner, dict(args, state='stopped'))  # stopping works whatever it says
    for fine in ('graph', 'fused', ''):
        monkeypatch.setenv('CHARRNN_LSTM_STEP', fine)
        assert run(module_runner, dict(args, state='restarted'))['running'] is True
    run(module_runner, dict(args, state='stopped'))


def test_precision_is_part_of_the_settings(module_runner, base_args, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    r = run(module_runner, args)
    assert r['precision'] == 'float'
    same = run(module_runner, dict(args, precision='float'))
    assert same['changed'] is False and same['warnings'] == []
    other = run(module_runner, dict(args, precision='double'))
    assert other['changed'] is False and other['pid'] == r['pid']
    assert other['precision'] == 'float'  # what runs, not what was asked for
    assert len(other['warnings']) == 1
    assert 'already runs a different command (it computes in float, double was asked for)' in other['warnings'][0]
    assert 'state=restarted' in other['warnings'][0]

    def trained_a_bit():  # past th's start-up, whose shell shims would count as trainers too
        with open(r['log_path']) as f:
            return '/1900 (epoch ' in f.read()
    assert _wait_for(trained_a_bit)
    switched = run(module_runner, dict(args, precision='double', state='restarted'))
    assert switched['changed'] is True and switched['stopped_pids'] == [r['pid']]
    assert switched['precision'] == 'double' and switched['command'][1] == 'train.lua'
    assert switched['resumed_from'] is None or switched['command'][-2] == '-init_from'
    back = run(module_runner, dict(args, precision='float'))
    assert back['changed'] is False
    assert 'it computes in double, float was asked for' in back['warnings'][0]
    run(module_runner, dict(args, state='stopped'))


def test_finished_run_stays_finished_whatever_the_precision(module_runner, base_args, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    double = dict(base_args, precision='double')
    r = run(module_runner, double)
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    done = run(module_runner, base_args)
    assert done['changed'] is False and done['finished'] is True
    assert done['precision'] == 'double' and done['command'] == r['command']
    assert run(module_runner, base_args, check_mode=True)['changed'] is False
    # restarted applies float, resuming from the double run's checkpoint, converted on load
    again = run(module_runner, dict(base_args, state='restarted'))
    assert again['changed'] is True and again['precision'] == 'float'
    assert again['resumed_from'] and again['command'][-2:] == ['-init_from', again['resumed_from']]
    assert _wait_for(lambda: not fake_screen.find_sessions('screen', base_args['session'], None))
    with open(r['log_path']) as f:
        log = f.read()
    assert 'rnn converted from torch.DoubleTensor to torch.FloatTensor' in log
    assert log.count('[charrnn] run ended: exit status 0') == 2
    assert run(module_runner, double)['finished'] is True
    # any other difference still trains again
    more = run(module_runner, dict(base_args, options=dict(base_args['options'], max_epochs=2)))
    assert more['changed'] is True and more['finished'] is False


def _another_corpus(charrnn_dir, name='poems'):
    data = charrnn_dir / 'data' / name
    data.mkdir()
    (data / 'input.txt').write_text(('Shall I compare thee to a summer\'s day? ' * 600)[:20000])
    return 'data/' + name


def test_a_new_corpus_trains_a_new_model_with_a_warning(module_runner, base_args, charrnn_dir, fake_screen,
                                                        stand_in_checkpoint, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    cv = charrnn_dir / 'cv'
    cv.mkdir()
    corpus = (charrnn_dir / 'data' / 'tiny' / 'input.txt').read_bytes()
    old = stand_in_checkpoint(cv / 'lm_lstm_epoch2.36_1.7637.t7', corpus, mtime=1000)
    args = dict(base_args, data_dir=_another_corpus(charrnn_dir), options=dict(base_args['options'], max_epochs=20))
    would = run(module_runner, args, check_mode=True)
    assert would['resumed_from'] is None and '-init_from' not in would['command']
    assert would['savefile'] == 'lstm.run2'
    assert would['not_resumed']['checkpoint'] == str(old)
    assert would['not_resumed']['differences'][0].startswith('vocabulary: data/poems/input.txt has ')
    assert fake_screen.started == []

    r = run(module_runner, args)
    assert r['changed'] is True and r['resumed_from'] is None and r['savefile'] == 'lstm.run2'
    warning = [w for w in r['warnings'] if w.startswith('not resuming from %s: vocabulary' % old)]
    assert warning and 'Training a new model from scratch under savefile lstm.run2' in warning[0]
    with open(r['log_path']) as f:
        log = f.read()
    # the trainer is past loading and has trained when the task returns
    assert '1/760 (epoch ' in log and 'not the same' not in log
    run(module_runner, dict(args, state='stopped'))


def test_require_resume_fails_before_stopping_anything(module_runner, module_fail, base_args, charrnn_dir,
                                                       fake_screen, stand_in_checkpoint, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    first = run(module_runner, args)
    assert _wait_for(lambda: list((charrnn_dir / 'cv').glob('lm_lstm_epoch*.t7')))
    before = sorted(os.listdir(str(charrnn_dir / 'cv')))
    with open(first['log_path']) as f:
        log_before = f.read().count('[charrnn] run started')

    with pytest.raises(module_fail) as e:
        run(module_runner, dict(args, state='restarted', require_resume=True, data_dir=_another_corpus(charrnn_dir)))
    msg = e.value.result['msg']
    assert msg.startswith('require_resume: training cannot resume from %s' % (charrnn_dir / 'cv'))
    assert 'vocabulary: data/poems/input.txt has ' in msg and 'Nothing was stopped or started' in msg
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(args, state='restarted', require_resume=True,
                                options=dict(args['options'], rnn_size=256, num_layers=3)))
    assert 'rnn_size: 256 asked, the checkpoint has 128; num_layers: 3 asked, the checkpoint has 2' \
        in e.value.result['msg']
    # the trainer runs on, untouched
    assert _processes.is_script_process(first['pid'], 'train.lua')
    assert len(fake_screen.started) == 1
    with open(first['log_path']) as f:
        assert f.read().count('[charrnn] run started') == log_before
    assert set(before) <= set(os.listdir(str(charrnn_dir / 'cv')))

    # the same dataset and model resumes
    again = run(module_runner, dict(args, state='restarted', require_resume=True))
    assert again['resumed_from'] and again['savefile'] == 'lstm.run2' and again['not_resumed'] is None
    run(module_runner, dict(args, state='stopped'))


def test_require_resume_without_a_checkpoint(module_runner, module_fail, base_args, fake_screen):
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(base_args, require_resume=True))
    assert "require_resume: there is no complete checkpoint of savefile 'lstm'" in e.value.result['msg']
    assert fake_screen.started == []


def test_a_new_architecture_is_a_new_model_and_one_left_out_continues(module_runner, base_args, charrnn_dir,
                                                                      fake_screen, stand_in_checkpoint):
    cv = charrnn_dir / 'cv'
    cv.mkdir()
    corpus = (charrnn_dir / 'data' / 'tiny' / 'input.txt').read_bytes()
    ckpt = stand_in_checkpoint(cv / 'lm_lstm_epoch1.00_1.5000.t7', corpus, rnn_size=64, mtime=1000)
    bigger = run(module_runner, dict(base_args, options=dict(base_args['options'], rnn_size=256)), check_mode=True)
    assert bigger['resumed_from'] is None
    assert bigger['not_resumed'] == {'checkpoint': str(ckpt),
                                     'differences': ['rnn_size: 256 asked, the checkpoint has 64']}
    assert any('rnn_size: 256 asked, the checkpoint has 64' in w for w in bigger['warnings'])
    same = run(module_runner, dict(base_args, options=dict(base_args['options'], rnn_size=64)), check_mode=True)
    assert same['resumed_from'] == str(ckpt)
    unsaid = run(module_runner, base_args, check_mode=True)
    assert unsaid['resumed_from'] == str(ckpt) and unsaid['not_resumed'] is None
    # what the run will train: the checkpoint's model, on this corpus's vocabulary
    assert unsaid['memory']['estimated_mib'] < bigger['memory']['estimated_mib']


def test_a_checkpoint_that_cannot_be_loaded_is_not_resumed(module_runner, base_args, charrnn_dir, fake_screen):
    cv = charrnn_dir / 'cv'
    cv.mkdir()
    (cv / 'lm_lstm_epoch1.00_1.5000.t7').write_bytes(b'\x00not a torch file')
    os.utime(str(cv / 'lm_lstm_epoch1.00_1.5000.t7'), (1000, 1000))
    r = run(module_runner, base_args, check_mode=True)
    assert r['resumed_from'] is None
    assert r['not_resumed']['differences'][0].startswith('it cannot be loaded (read error')


def test_trainer_still_loading_at_the_startup_timeout(module_runner, module_fail, base_args, fake_screen,
                                                      monkeypatch):
    monkeypatch.setenv('STANDIN_INIT_DELAY', '30')
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(base_args, startup_timeout=1))
    result = e.value.result
    assert 'has not logged a first iteration within 1s (startup_timeout): it is still loading' in result['msg']
    assert 'cloning criterion' in result['msg'] and result['running'] is True
    assert _processes.is_script_process(result['pid'], 'train.lua')  # left running
    again = run(module_runner, base_args)
    assert again['changed'] is False and again['pid'] == result['pid']
    run(module_runner, dict(base_args, state='stopped'))


def test_trainer_that_fails_while_loading_fails_the_task(module_runner, module_fail, base_args, charrnn_dir,
                                                         fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_INIT_DELAY', '0.5')  # caught alive, then it dies
    monkeypatch.setenv('STANDIN_CRASH_AT', '1')
    with pytest.raises(module_fail) as e:
        run(module_runner, base_args)
    result = e.value.result
    assert result['msg'].startswith('the trainer ended before it trained (status 1, error)')
    assert 'not enough memory' in result['msg'] and result['exit_status'] == 1 and result['running'] is False


def test_warns_when_the_run_will_not_fit_in_memory(module_runner, base_args, fake_screen, monkeypatch):
    monkeypatch.setattr(_resources, 'available_memory_bytes', lambda: 64 << 20)
    r = run(module_runner, dict(base_args, options=dict(base_args['options'], rnn_size=512, num_layers=3)),
            check_mode=True)
    assert r['memory']['fits'] is False and r['memory']['available_mib'] == 64
    assert any(w.startswith('the run needs about %d MiB of memory' % r['memory']['estimated_mib'])
               for w in r['warnings'])
    monkeypatch.setattr(_resources, 'available_memory_bytes', lambda: 64 << 30)
    r = run(module_runner, base_args, check_mode=True)
    assert r['memory']['fits'] is True and not [w for w in r['warnings'] if 'MiB of memory' in w]


def _trained_elsewhere(module_runner, base_args, tmp_path, monkeypatch):
    """A checkpoint another machine trained (the same corpus), outside this checkout: its path."""
    monkeypatch.setenv('STANDIN_SLEEP', '0')
    other = tmp_path / 'other-machine'
    other.mkdir()
    for name in ('train.lua', 'sample.lua'):
        (other / name).write_text((tmp_path / name).read_text())
    (other / 'data' / 'tiny').mkdir(parents=True)
    (other / 'data' / 'tiny' / 'input.txt').write_text((tmp_path / 'data' / 'tiny' / 'input.txt').read_text())
    r = run(module_runner, dict(base_args, chdir=str(other), session=base_args['session'] + '-o'))
    assert _wait_for(lambda: _log.exit_status(open(r['log_path']).read().splitlines()) == 0)
    newest = sorted((other / 'cv').glob('lm_lstm_epoch*.t7'), key=lambda p: p.stat().st_mtime)[-1]
    brought = tmp_path / 'brought'
    brought.mkdir()
    (brought / newest.name).write_bytes(newest.read_bytes())
    os.utime(str(brought / newest.name), (1000000000, 1000000000))
    return brought / newest.name


def test_resume_from_starts_a_new_machine_from_another_s_checkpoint(module_runner, base_args, charrnn_dir,
                                                                    fake_screen, tmp_path, monkeypatch):
    source = _trained_elsewhere(module_runner, base_args, tmp_path, monkeypatch)
    args = dict(base_args, resume_from=str(source))
    would = run(module_runner, args, check_mode=True)
    copy = str(charrnn_dir / 'cv' / source.name)
    assert would['resumed_from'] == copy and would['imported_from'] == str(source)
    assert would['savefile'] == 'lstm.run2' and not os.path.exists(copy)
    r = run(module_runner, args)
    assert r['resumed_from'] == copy and r['imported_from'] == str(source) and r['savefile'] == 'lstm.run2'
    assert r['command'][-4:] == ['-savefile', 'lstm.run2', '-init_from', copy]
    assert open(copy, 'rb').read() == source.read_bytes() and os.stat(copy).st_mtime == 1000000000
    assert _wait_for(lambda: _log.exit_status(open(r['log_path']).read().splitlines()) == 0)
    # the host has checkpoints of its own now: a re-run resumes from the latest of them, never from the import
    again = run(module_runner, dict(args, state='restarted'))
    assert again['resumed_from'] != copy and 'lstm.run2_epoch' in again['resumed_from']
    assert again['imported_from'] is None
    assert any(w.startswith('resume_from %s is left alone' % source) for w in again['warnings'])


def test_resume_from_that_does_not_fit_fails_before_anything_changes(module_runner, module_fail, base_args,
                                                                     charrnn_dir, fake_screen, tmp_path,
                                                                     monkeypatch):
    source = _trained_elsewhere(module_runner, base_args, tmp_path, monkeypatch)
    (charrnn_dir / 'data' / 'tiny' / 'input.txt').write_text('Another corpus, other letters: XYZ 0123456789.\n' * 500)
    started = len(fake_screen.started)
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(base_args, resume_from=str(source)))
    msg = e.value.result['msg']
    assert msg.startswith('resume_from: training cannot resume from %s: vocabulary' % source), msg
    assert 'Nothing was copied, stopped or started' in msg
    assert not (charrnn_dir / 'cv').exists() or not list((charrnn_dir / 'cv').glob('*.t7'))
    assert len(fake_screen.started) == started


@pytest.mark.parametrize('name,override,fragment', [
    ('lm_lstm_epoch1.00_2.0000.t7', {'resume': False}, 'resume_from needs resume=true'),
    ('missing/lm_lstm_epoch1.00_2.0000.t7', {}, 'does not exist: bring the checkpoint to continue onto the host'),
    ('checkpoint.t7', {}, 'is not a char-rnn checkpoint name (lm_<savefile>_epoch<E>_<loss>.t7): bring'),
    ('lm_gru.run2_epoch1.00_2.0000.t7', {}, "is a checkpoint of savefile 'gru.run2', and the run's savefile is "
                                            "'lstm': set options.savefile to 'gru' to continue that model"),
])
def test_resume_from_is_refused_with_the_fix(module_runner, module_fail, base_args, tmp_path, name, override,
                                             fragment):
    if not name.startswith('missing/'):
        (tmp_path / name).write_text('x')
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(base_args, resume_from=str(tmp_path / name), **override), check_mode=True)
    assert fragment in e.value.result['msg']


def test_the_notify_command_is_kept_for_the_run_that_has_one_only(module_runner, base_args, fake_screen, monkeypatch):
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, options=dict(base_args['options'], max_epochs=50))
    r = run(module_runner, dict(args, notify_command='curl -d x https://hooks.example.invalid/token'))
    kept = r['log_path'] + '.notify'
    assert open(kept).read() == 'curl -d x https://hooks.example.invalid/token'
    assert not any('token' in a for a in fake_screen.started[-1][1])  # on no command line
    run(module_runner, dict(args, state='restarted'))
    assert not os.path.exists(kept)
    run(module_runner, dict(args, state='stopped'))


def test_without_systemd_the_run_is_not_supervised_and_says_so(module_runner, module_fail, base_args, fake_screen,
                                                               monkeypatch):
    monkeypatch.setattr(_supervision, 'unavailable_reason', lambda **k: 'systemd is not PID 1 on this host (x)')
    r = run(module_runner, base_args, check_mode=True)
    assert r['supervision'] == {'mode': 'none', 'unit': None, 'comes_back_after_reboot': False,
                                'reason': 'the run will not come back after a restart of the host: systemd is not '
                                          'PID 1 on this host (x)'}
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(base_args, supervision='systemd'))
    assert e.value.result['msg'] == ('supervision=systemd: systemd is not PID 1 on this host (x). Nothing was '
                                     'stopped or started; set supervision to auto to train without it')
    assert fake_screen.started == []


@pytest.mark.parametrize('override,fragment', [
    ({'restart_limit': -1}, 'restart_limit must be 0 (no restart after a failure) or more, got -1'),
    ({'restart_delay': 0}, 'restart_delay must be >= 1 (seconds), got 0'),
    ({'supervision': 'upstart'}, 'value of supervision must be one of: auto, systemd, none, got: upstart'),
])
def test_invalid_supervision_options(module_runner, module_fail, base_args, override, fragment):
    with pytest.raises(module_fail) as e:
        run(module_runner, dict(base_args, **override), check_mode=True)
    assert fragment in e.value.result['msg']


def test_a_supervised_run_puts_its_unit_in_place_and_a_stop_disables_it(module_runner, base_args, fake_screen,
                                                                        monkeypatch, tmp_path):
    for var in ('XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_RUNTIME_DIR'):
        monkeypatch.setenv(var, str(tmp_path / var))
    os.mkdir(str(tmp_path / 'XDG_RUNTIME_DIR'))
    monkeypatch.setattr(_supervision, 'unavailable_reason', lambda **k: None)
    systemctl = FakeSystemctl()
    monkeypatch.setattr(_screen, 'module_runner', lambda module: systemctl)
    monkeypatch.setenv('STANDIN_SLEEP', '0.05')
    args = dict(base_args, notify_command='echo secret-token', options=dict(base_args['options'], max_epochs=50))
    r = run(module_runner, args)
    unit = _supervision.Unit(args['session'], systemctl)
    assert r['running'] and r['supervision']['mode'] == 'systemd' and r['supervision']['unit'] == unit.name
    assert systemctl.props['UnitFileState'] == 'enabled' and systemctl.props['ActiveState'] == 'active'
    with open(unit.path) as f:
        text = f.read()
    params_file = _supervision.params_path(r['log_path'])
    assert 'ExecStart="%s" -m %s "%s"' % (sys.executable, _supervision.SUPERVISOR_MODULE, params_file) in text
    assert os.stat(params_file).st_mode & 0o777 == 0o600
    with open(params_file) as f:
        params = json.load(f)
    assert params['notify_command'] == '' and params['th'] == base_args['th'] and params['log_path'] == r['log_path']
    assert 'secret-token' not in text + json.dumps(params)
    assert [e['event'] for e in _supervision.read_events(r['log_path'])] == ['started']

    systemctl.calls = []
    assert run(module_runner, args)['changed'] is False  # the unit runs: nothing to do
    assert 'start' not in systemctl.calls

    # the unit's process after the trainer died: the same plan with the recorded options resumes it
    os.kill(r['pid'], signal.SIGKILL)
    assert _wait_for(lambda: not _processes.is_script_process(r['pid']))
    assert _wait_for(lambda: not fake_screen.find_sessions(None, args['session'], None))
    monkeypatch.setenv('STANDIN_CRASH_AT', '40')  # the resumed trainer fails once it trained a while
    said = []
    assert _supervisor.main([params_file], log=said.append, stops=_supervisor.Stops()) == 1
    events = _supervision.read_events(r['log_path'])
    assert [e['event'] for e in events] == ['started', 'started', 'ended']
    assert events[1]['by'] == 'systemd' and events[1]['pid'] != r['pid']
    assert events[2]['failed'] is True and events[2]['exit_status'] == 1 and events[2]['phase'] == 'error'
    assert said[-1] == '[charrnn supervisor] the trainer ended (exit status 1, error): systemd restarts it\n'
    monkeypatch.delenv('STANDIN_CRASH_AT')

    r2 = run(module_runner, args)
    assert r2['changed'] and r2['running']
    systemctl.calls = []
    stopped = run(module_runner, dict(args, state='stopped'))
    assert stopped['changed'] and stopped['supervision']['comes_back_after_reboot'] is False
    assert systemctl.calls.index('disable') < systemctl.calls.index('stop')
    assert systemctl.props['UnitFileState'] == 'disabled' and systemctl.props['ActiveState'] == 'inactive'
    assert _state.read_state(r['log_path'])['stopped_at']
    assert _supervision.read_events(r['log_path'])[-1]['event'] == 'stopped'
    assert _supervisor.main([params_file], log=said.append, stops=_supervisor.Stops()) == 0  # a stopped run stays down
    assert 'stays down' in said[-1]
