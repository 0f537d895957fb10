# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""train / checkpoint / sample through ansible-playbook, real screen, stand-in trainer."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import shutil
import threading
import time

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # pragma: no cover - Python 2 only
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer

import pytest

from charrnn_it_helpers import STAND_IN_TH, screen_sessions, trainer_pids

SMALL = {'batch_size': 10, 'seq_length': 50, 'eval_val_every': 10}


def train_task(charrnn_dir, session, **kw):
    args = {'chdir': str(charrnn_dir), 'data_dir': 'data/tiny', 'th': STAND_IN_TH, 'session': session,
            'threads': 1, 'stop_timeout': 5, 'options': dict(SMALL, max_epochs=5)}
    options = kw.pop('options', None)
    if options:
        args['options'] = dict(args['options'], **options)
    args.update(kw)
    return {'rnn_bootstrap.charrnn.train': args}


def ckpt_task(charrnn_dir, session, **kw):
    args = {'checkpoint_dir': 'cv', 'chdir': str(charrnn_dir), 'session': session, 'sleep': 0.25}
    args.update(kw)
    return {'rnn_bootstrap.charrnn.checkpoint': args}


def sample_task(charrnn_dir, session, **kw):
    args = {'chdir': str(charrnn_dir), 'th': STAND_IN_TH, 'session': session, 'length': 200}
    args.update(kw)
    return {'rnn_bootstrap.charrnn.sample': args}


def is_train_lua(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return b'train.lua' in f.read().split(b'\0')
    except OSError:
        return False


def test_lifecycle(play, charrnn_dir, tmp_path):
    s = play.session()
    dest = tmp_path / 'sample.txt'
    r = play.run([
        train_task(charrnn_dir, s),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
        sample_task(charrnn_dir, s, dest=str(dest)),
        train_task(charrnn_dir, s),
        ckpt_task(charrnn_dir, s, wait='new', timeout=60),
    ], env={'STANDIN_SLEEP': '0.05', 'STANDIN_SAVE_DELAY': '0.05'})
    start, first, sampled, again, new = r
    assert not start.get('failed'), start
    assert start['changed'] is True and start['running'] is True
    pid = start['pid']
    assert is_train_lua(pid)
    # float, the default: train.lua through the prelude kept next to the log
    assert start['command'][:4] == [STAND_IN_TH, start['log_path'] + '.prelude.lua', 'float', 'train.lua']
    assert start['precision'] == 'float'
    assert start['env']['OMP_WAIT_POLICY'] == 'PASSIVE'
    assert start['log_path'] == str(charrnn_dir / 'cv' / ('train-%s.log' % s))
    assert len(screen_sessions(s)) == 1

    assert not first.get('failed'), first
    # checkpoints every 10 of 38 iterations per epoch: epoch 0.26, 0.53, ...
    assert first['found']['name'].startswith('lm_lstm_epoch0.')
    assert first['found'] == first['latest'] and first['found'] not in first['in_progress']
    assert first['training']['running'] is True and first['training']['pid'] == pid
    assert first['changed'] is False and 'elapsed' in first

    assert not sampled.get('failed'), sampled
    assert len(sampled['text']) == 200 and sampled['changed'] is True
    assert dest.read_text() == sampled['text']

    assert again['changed'] is False and again['pid'] == pid
    assert trainer_pids(charrnn_dir) == [pid]

    assert not new.get('failed'), new
    assert new['found']['path'] != new['newer_than']
    assert new['found']['mtime'] >= first['found']['mtime'] and new['found']['epoch'] > first['found']['epoch']
    assert new['training']['vocab_size'] > 10

    r = play.run([
        train_task(charrnn_dir, s, state='restarted'),
        train_task(charrnn_dir, s),
    ], check=True)
    would, same = r
    assert would['changed'] is True and would['resumed_from']
    assert same['changed'] is False
    assert trainer_pids(charrnn_dir) == [pid]  # check mode touched nothing

    r = play.run([
        train_task(charrnn_dir, s, state='stopped'),
        train_task(charrnn_dir, s, state='stopped'),
        ckpt_task(charrnn_dir, s),
    ])
    stopped, again, report = r
    assert stopped['changed'] is True and stopped['stopped_pids'] == [pid]
    assert again['changed'] is False
    assert trainer_pids(charrnn_dir) == [] and screen_sessions(s) == []
    assert report['training']['running'] is False and report['training']['status'] == 'stopped'
    # Asked to stop, the trainer saved the iteration under way and exited by itself: that checkpoint is
    # complete, the newest, and the one a start resumes from.
    assert report['training']['exit_status'] == 0 and report['training']['stopped_on'] == 'SIGTERM'
    names = [c['name'] for c in report['checkpoints']]
    assert len(names) >= 3 and report['in_progress'] == []
    assert report['latest']['name'] == os.path.basename(report['training']['last_checkpoint'])
    resumed = play.run([train_task(charrnn_dir, s), train_task(charrnn_dir, s, state='stopped')])[0]
    assert resumed['resumed_from'] == report['latest']['path']


def test_crash_fails_fast_with_log_tail(play, charrnn_dir):
    s = play.session()
    r = play.run([
        train_task(charrnn_dir, s, options={'eval_val_every': 1000}),
        ckpt_task(charrnn_dir, s, wait='first', timeout=120),
    ], env={'STANDIN_SLEEP': '0.02', 'STANDIN_CRASH_AT': '25'})
    start, waited = r
    assert start['changed'] is True
    assert waited['failed'] is True and waited['timed_out'] is False
    assert waited['elapsed'] < 30
    assert 'has ended (status error)' in waited['msg']
    assert 'not enough memory' in waited['msg'] and 'stack traceback:' in waited['msg']
    assert waited['log_tail'][-1] == '[charrnn] run ended: exit status 1'
    assert screen_sessions(s) == []


def test_nan_abort_fails_fast(play, charrnn_dir):
    s = play.session()
    r = play.run([
        train_task(charrnn_dir, s, options={'eval_val_every': 1000}),
        ckpt_task(charrnn_dir, s, wait='first', timeout=120),
    ], env={'STANDIN_SLEEP': '0.02', 'STANDIN_NAN_AT': '20'})
    waited = r[1]
    assert waited['failed'] is True and waited['timed_out'] is False
    assert waited['training']['status'] == 'nan'
    assert 'loss is NaN' in waited['msg']
    assert waited['training']['exit_status'] == 0  # train.lua breaks out of its loop and exits 0


def test_run_without_checkpoint_fails_fast(play, charrnn_dir):
    s = play.session()
    r = play.run([
        train_task(charrnn_dir, s, options={'eval_val_every': 1000}),
        ckpt_task(charrnn_dir, s, wait='first', timeout=120),
    ], env={'STANDIN_SLEEP': '0.01', 'STANDIN_EXPLODE_AT': '150'})
    start, waited = r
    assert start['changed'] is True
    assert waited['failed'] is True and waited['timed_out'] is False
    assert waited['training']['status'] == 'exploding'
    assert 'without writing the first checkpoint' in waited['msg']
    assert 'loss is exploding, aborting.' in waited['msg']


def test_wait_new_after_finished_run_fails_fast(play, charrnn_dir):
    s = play.session()
    r = play.run([
        train_task(charrnn_dir, s, options={'max_epochs': 1}),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
        {'ansible.builtin.pause': {'seconds': 2}},
        ckpt_task(charrnn_dir, s, wait='new', timeout=120),
    ], env={'STANDIN_SLEEP': '0.01'})
    start, first, dummy, new = r
    assert not first.get('failed'), first
    assert new['failed'] is True and new['timed_out'] is False and new['elapsed'] < 30
    assert new['training']['status'] == 'finished'
    assert new['training']['iteration'] == new['training']['iterations'] == 38
    assert 'has ended (status finished)' in new['msg']
    assert new['latest']['name'].startswith('lm_lstm_epoch1.00_')


def test_concurrent_starts_make_one_trainer(play, charrnn_dir):
    s = play.session()
    task = train_task(charrnn_dir, s, options={'max_epochs': 50})
    r = play.run([task], hosts=['first', 'second'], forks=2, env={'STANDIN_SLEEP': '0.05'})
    a, b = r['first'][0], r['second'][0]
    assert not a.get('failed') and not b.get('failed'), (a, b)
    assert sorted([a['changed'], b['changed']]) == [False, True]
    assert a['pid'] == b['pid']
    assert trainer_pids(charrnn_dir) == [a['pid']]
    assert len(screen_sessions(s)) == 1
    r = play.run([train_task(charrnn_dir, s, state='stopped')])
    assert r[0]['changed'] is True and trainer_pids(charrnn_dir) == []


def test_check_mode_starts_nothing(play, charrnn_dir):
    s = play.session()
    r = play.run([train_task(charrnn_dir, s), sample_task(charrnn_dir, s)], check=True)
    would, sampled = r
    assert would['changed'] is True and would['pid'] is None
    assert '-max_epochs' in would['command']
    assert screen_sessions(s) == [] and trainer_pids(charrnn_dir) == []
    assert not (charrnn_dir / 'cv').exists()
    assert sampled['failed'] is True and 'no complete checkpoint' in sampled['msg']


def test_bad_inputs_fail_clearly(play, charrnn_dir, tmp_path):
    s = play.session()
    (charrnn_dir / 'data' / 'small').mkdir()
    (charrnn_dir / 'data' / 'small' / 'input.txt').write_text('x' * 499)
    r = play.run([
        train_task(charrnn_dir, s, options={'rnn_sizes': 10}),
        train_task(charrnn_dir, s, options={'init_from': 'cv/x.t7'}),
        train_task(charrnn_dir, s, options={'rnn_size': 'huge'}),
        train_task(charrnn_dir, s, data_dir='data/none'),
        train_task(charrnn_dir, s, data_dir='data/small'),
        train_task(charrnn_dir, s, chdir=str(tmp_path)),
        train_task(charrnn_dir, s, th=str(tmp_path / 'th')),
        ckpt_task(charrnn_dir, s, wait='new', newer_than='cv/lm_lstm_epoch1.00_1.0000.t7'),
        sample_task(charrnn_dir, s, checkpoint='cv/model.t7'),
        sample_task(charrnn_dir, s, temperature=0),
    ])
    expected = [
        'options.rnn_sizes is not a train.lua flag',
        "use the module option 'resume'",
        'options.rnn_size must be an integer',
        'data_dir data/none does not exist',
        'data/small/input.txt is too small for one training batch',
        'train.lua not found in chdir',
        'does not exist',
        'does not exist',
        'not a char-rnn checkpoint name',
        'temperature must be > 0',
    ]
    for res, fragment in zip(r, expected):
        assert res.get('failed') is True, res
        assert fragment in res['msg'], (fragment, res['msg'])
    assert screen_sessions(s) == [] and trainer_pids(charrnn_dir) == []


def wait_until_ended(log_path, runs, timeout=60):
    """Until the log holds `runs` run-end lines."""
    end = time.time() + timeout
    while time.time() < end:
        with open(log_path) as f:
            if f.read().count('[charrnn] run ended: exit status') >= runs:
                return
        time.sleep(0.1)
    raise AssertionError('%s: run %d did not end within %ds' % (log_path, runs, timeout))


def saved_types(cv):
    """checkpoint name -> the tensor type the stand-in trainer recorded in it."""
    types = {}
    for name in sorted(os.listdir(str(cv))):
        if name.endswith('.t7'):
            m = re.search(rb'"tensor_type": "([^"]+)"', (cv / name).read_bytes())
            types[name] = m.group(1).decode() if m else None
    return types


def test_precision_float_checkpoints_stay_char_rnn_double(play, charrnn_dir):
    """A float run writes double checkpoints that the sample module reads; a double run resumes from them and
    a float run from the double run's."""
    s = play.session()
    env = {'STANDIN_SLEEP': '0.01'}
    one_epoch = {'options': {'max_epochs': 1}}
    r = play.run([
        train_task(charrnn_dir, s, **one_epoch),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
        sample_task(charrnn_dir, s, checkpoint='latest'),
    ], env=env)
    start, first, sampled = r
    assert not start.get('failed'), start
    assert start['precision'] == 'float' and start['command'][2:4] == ['float', 'train.lua']
    prelude = start['log_path'] + '.prelude.lua'
    with open(prelude) as f:
        assert 'rnn_bootstrap.charrnn train.lua prelude' in f.readline()
    assert not first.get('failed'), first
    assert not sampled.get('failed') and len(sampled['text']) == 200, sampled
    wait_until_ended(start['log_path'], 1)
    cv = charrnn_dir / 'cv'
    float_run = saved_types(cv)
    assert float_run and set(float_run.values()) == {'torch.DoubleTensor'}

    r = play.run([
        train_task(charrnn_dir, s, precision='double', **one_epoch),   # finished: left alone
        train_task(charrnn_dir, s, precision='double', state='restarted', **one_epoch),
    ], env=env)
    same, double = r
    assert same['changed'] is False and same['finished'] is True and same['precision'] == 'float'
    assert not double.get('failed'), double
    assert double['changed'] is True and double['precision'] == 'double'
    assert double['command'][1] == 'train.lua'
    assert os.path.basename(double['resumed_from']) in float_run and double['savefile'] == 'lstm.run2'
    wait_until_ended(start['log_path'], 2)

    r = play.run([
        train_task(charrnn_dir, s, state='restarted', **one_epoch),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
    ], env=env)
    back, ckpt = r
    assert not back.get('failed'), back
    assert back['changed'] is True and back['precision'] == 'float'
    assert os.path.basename(back['resumed_from']).startswith('lm_lstm.run2_')
    wait_until_ended(start['log_path'], 3)
    r = play.run([sample_task(charrnn_dir, s, checkpoint='latest')])
    assert not r[0].get('failed') and os.path.basename(r[0]['checkpoint']).startswith('lm_lstm.run3_'), r[0]
    with open(start['log_path']) as f:
        log = f.read()
    assert log.count('[charrnn] run ended: exit status 0') == 3
    assert log.count('[charrnn] precision float: train.lua computes in torch.FloatTensor') == 2
    assert '%s: rnn converted from torch.DoubleTensor to torch.FloatTensor' % back['resumed_from'] in log
    assert set(saved_types(cv).values()) == {'torch.DoubleTensor'}


REAL_TH = os.environ.get('CHARRNN_REAL_TH')
REAL_CHARRNN = os.environ.get('CHARRNN_REAL_CHARRNN')
# shared/ sits beside the checkout.
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'data', 'tinyshakespeare', 'input.txt')


@pytest.mark.skipif(not (REAL_TH and REAL_CHARRNN),
                    reason='set CHARRNN_REAL_TH (a Torch7 th) and CHARRNN_REAL_CHARRNN (a char-rnn checkout) '
                           'to train a tiny real model')
def test_real_torch_tiny_training(play, tmp_path):
    corpus = os.environ.get('CHARRNN_CORPUS', CORPUS)
    if not os.path.exists(corpus):
        corpus = os.path.join(REAL_CHARRNN, 'data', 'tinyshakespeare', 'input.txt')
    data = tmp_path / 'data'
    data.mkdir()
    with open(corpus, 'rb') as f:
        (data / 'input.txt').write_bytes(f.read(20000))
    cv = tmp_path / 'cv'
    s = play.session()
    args = {'chdir': REAL_CHARRNN, 'data_dir': str(data), 'checkpoint_dir': str(cv), 'th': REAL_TH,
            'session': s, 'threads': 1,
            'options': {'rnn_size': 16, 'num_layers': 1, 'seq_length': 10, 'batch_size': 10,
                        'eval_val_every': 20, 'max_epochs': 50}}
    r = play.run([
        {'rnn_bootstrap.charrnn.train': args},
        {'rnn_bootstrap.charrnn.checkpoint': {'checkpoint_dir': str(cv), 'session': s, 'wait': 'first',
                                              'timeout': 300, 'sleep': 1}},
        {'rnn_bootstrap.charrnn.sample': {'chdir': REAL_CHARRNN, 'checkpoint_dir': str(cv), 'session': s,
                                          'th': REAL_TH, 'length': 100, 'primetext': 'ROMEO:'}},
        {'rnn_bootstrap.charrnn.train': dict(args, state='stopped')},
        {'rnn_bootstrap.charrnn.checkpoint': {'checkpoint_dir': str(cv), 'session': s}},
        {'rnn_bootstrap.charrnn.train': args},
        {'rnn_bootstrap.charrnn.train': dict(args, state='stopped')},
    ], timeout=600)
    start, first, sampled, stopped, after_stop, resumed, dummy = r
    assert not start.get('failed'), start
    assert not first.get('failed'), first
    assert first['training']['vocab_size'] and first['training']['num_parameters']
    assert not sampled.get('failed'), sampled
    assert sampled['text'].startswith('ROMEO:') and len(sampled['text']) >= 100
    assert not stopped.get('failed'), stopped
    # stopped mid-run, the trainer saved the iteration under way, and training resumed from that checkpoint
    training = after_stop['training']
    assert training['stopped_on'] == 'SIGTERM' and training['exit_status'] == 0, training
    assert after_stop['latest']['name'] == os.path.basename(training['last_checkpoint'])
    assert resumed['resumed_from'] == after_stop['latest']['path']
    shutil.rmtree(str(cv), ignore_errors=True)


class _Preempted(BaseHTTPRequestHandler):
    """GCP's preempted flag, FALSE until the test sets it."""
    preempted = False

    def log_message(self, *args):
        pass

    def do_GET(self):
        ok = self.headers.get('Metadata-Flavor') == 'Google'
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(b'TRUE' if ok and self.preempted else b'FALSE')


def test_a_preemption_notice_stops_the_trainer_after_a_checkpoint(play, charrnn_dir):
    _Preempted.preempted = False
    server = HTTPServer(('127.0.0.1', 0), _Preempted)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    url = 'http://127.0.0.1:%d/computeMetadata/v1/instance/preempted' % server.server_address[1]
    s = play.session()
    try:
        start, first = play.run([
            train_task(charrnn_dir, s, interruption_notice='gcp', interruption_notice_url=url,
                       options={'max_epochs': 50}),
            ckpt_task(charrnn_dir, s, wait='first', timeout=60),
        ], env={'STANDIN_SLEEP': '0.05'})
        assert not start.get('failed') and not first.get('failed'), (start, first)
        time.sleep(1)
        assert trainer_pids(charrnn_dir) == [start['pid']]  # asked, not preempted: trains on
        _Preempted.preempted = True
        deadline = time.time() + 30
        while trainer_pids(charrnn_dir) and time.time() < deadline:
            time.sleep(0.2)
        assert trainer_pids(charrnn_dir) == []
        report = play.run([ckpt_task(charrnn_dir, s)])[0]
    finally:
        server.shutdown()
        server.server_close()
    training = report['training']
    assert training['interruption'] == 'GCP preemption notice'
    assert training['stopped_on'] == 'SIGTERM' and training['exit_status'] == 0 and training['status'] == 'stopped'
    assert report['latest']['name'] == os.path.basename(training['last_checkpoint']) and report['in_progress'] == []


def test_the_notify_command_hears_a_start_a_stop_a_resume_and_a_crash(play, charrnn_dir, tmp_path):
    told = tmp_path / 'told.txt'
    command = 'echo "$CHARRNN_EVENT|$CHARRNN_MESSAGE" >> %s' % told
    s = play.session()
    start, dummy, stopped = play.run([
        train_task(charrnn_dir, s, notify_command=command, options={'max_epochs': 50}),
        ckpt_task(charrnn_dir, s, wait='first', timeout=60),
        train_task(charrnn_dir, s, state='stopped'),
    ], env={'STANDIN_SLEEP': '0.05'})
    assert not start.get('failed') and stopped['changed'], (start, stopped)
    assert told.name not in repr(start)  # no_log: the command, which may carry a token, is not in the result
    resumed = play.run([train_task(charrnn_dir, s, notify_command=command, options={'max_epochs': 50})],
                       env={'STANDIN_SLEEP': '0.05', 'STANDIN_CRASH_AT': '3'})[0]
    end = time.time() + 20
    while len(told.read_text().splitlines()) < 4 and time.time() < end:
        time.sleep(0.2)
    lines = told.read_text().splitlines()
    assert lines[0] == 'started|training from scratch'
    assert re.match(r'^stopped\|stopped on SIGTERM at iteration \d+ of 1900, after a checkpoint$', lines[1]), lines
    # The crash comes an iteration after the resumed trainer first logs: the task fails when it looks after
    # the crash and succeeds when it looks between the two, so only the notifications are certain.
    assert '-init_from' in resumed['command'], resumed
    assert lines[2] == 'resumed|resumed from %s' % resumed['command'][resumed['command'].index('-init_from') + 1]
    assert lines[3] == ('crashed|exit status 1 at iteration 2 of 1900: /opt/torch/install/bin/luajit: '
                        '/opt/torch/install/share/lua/5.1/nn/THNN.lua:110: not enough memory'), lines
    assert oct(os.stat(start['log_path'] + '.notify').st_mode & 0o777) == '0o600'
    assert command not in open(start['log_path']).read()
