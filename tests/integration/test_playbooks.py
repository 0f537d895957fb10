# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The day-2 playbooks on localhost, with a real GNU screen and the stand-in trainer.

train.yml runs with --skip-tags charrnn_checkout: the checkout needs char-rnn's sources, which the
molecule scenario covers; here the fake checkout of the charrnn_dir fixture stands in for it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import getpass
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import (SCREEN, STAND_IN_TH, ansible_playbook, collections_root, kill_trainers,  # noqa: E402
                                screen_sessions)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def fleet(tmp_path, charrnn_dir):
    if SCREEN is None:
        pytest.skip('GNU screen is not installed')
    if not ansible_playbook():
        pytest.skip('ansible-playbook not found')
    session = 'it-playbooks-%d' % os.getpid()
    artifacts = tmp_path / 'artifacts'
    inventory = {
        'charrnn': {
            'hosts': {'localhost': {
                'ansible_connection': 'local',
                'ansible_python_interpreter': sys.executable,
                'ansible_become_method': 'su',
            }},
            'vars': {
                'charrnn_dir': str(charrnn_dir),
                'charrnn_user': getpass.getuser(),
                'charrnn_dataset_name': 'tiny',
                'charrnn_th': STAND_IN_TH,
                'charrnn_train_session': session,
                'charrnn_train_options': {'batch_size': 10, 'seq_length': 20, 'eval_val_every': 15,
                                          'max_epochs': 200},
                'charrnn_progress_interval': 2,
                'charrnn_first_checkpoint_timeout': 60,
                'charrnn_sample_length': 120,
                'charrnn_artifacts_dir': str(artifacts),
            },
        },
    }
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps(inventory))

    def run(playbook, *extra, **standin):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_HOST_KEY_CHECKING='0', STANDIN_SLEEP='0.02')
        env.update(standin)
        cmd = [ansible_playbook(), '-i', str(path), os.path.join(REPO, 'playbooks', playbook)] + list(extra)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=240,
                              check=False)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace')

    run.session = session
    yield run, artifacts, charrnn_dir
    for sid in screen_sessions(session):
        subprocess.run([SCREEN, '-S', sid, '-X', 'quit'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
    # the wrapper outlives screen's hangup: end the trainer too, as the play fixture does
    kill_trainers(charrnn_dir)


def test_day_two_playbooks(fleet):
    run, artifacts, charrnn_dir = fleet

    rc, out = run('train.yml', '--skip-tags', 'charrnn_checkout')
    assert rc == 0, out
    assert 'waiting for the first checkpoint' in out or 'lm_lstm_epoch' in out, out
    assert list((charrnn_dir / 'cv').glob('lm_lstm_epoch*.t7'))

    rc, out = run('train.yml', '--skip-tags', 'charrnn_checkout')
    assert rc == 0, out
    assert 'changed=0' in out, out

    rc, out = run('status.yml')
    assert rc == 0, out
    report = (artifacts / 'report.md').read_text()
    assert '| localhost |' in report and '| running |' in report, report
    png = (artifacts / 'loss.png').read_bytes()
    assert png.startswith(b'\x89PNG\r\n\x1a\n') and len(png) > 2000
    assert (artifacts / 'localhost' / 'train.log').stat().st_size > 0

    rc, out = run('sample.yml', '-e', 'charrnn_sample_temperature=0.5', '-e', 'charrnn_sample_length=80')
    assert rc == 0, out
    samples = list((artifacts / 'localhost').glob('sample-lm_lstm_epoch*-t0.5-s123.txt'))
    assert len(samples) == 1 and samples[0].read_text().strip(), out

    for playbook in ('fetch.yml', 'status.yml'):
        rc, out = run(playbook, '-e', 'charrnn_fetch_max_mb=0')
        assert rc != 0 and 'more than charrnn_fetch_max_mb (0)' in out and 'nothing was fetched' in out, out
    assert not list((artifacts / 'localhost').glob('lm_lstm_epoch*.t7'))
    rc, out = run('fetch.yml')
    assert rc == 0, out
    fetched = sorted(p.name for p in (artifacts / 'localhost').glob('lm_lstm_epoch*.t7'))
    assert fetched, out
    assert (artifacts / 'localhost' / ('train-it-playbooks-%d.log' % os.getpid())).exists()

    rc, out = run('stop.yml')
    assert rc == 0, out
    assert 'changed=1' in out, out
    rc, out = run('status.yml')
    assert rc == 0, out
    assert '| running |' not in (artifacts / 'report.md').read_text()
    assert not screen_sessions('it-playbooks-%d' % os.getpid())
    assert list((charrnn_dir / 'cv').glob('lm_lstm_epoch*.t7')), 'stopping lost checkpoints'


WAIT_TASK = 'TASK [rnn_bootstrap.charrnn.training : Wait for the first checkpoint, reporting progress]'
PROGRESS = re.compile(r'^localhost: waiting for the first checkpoint of savefile lstm, (\d+)s since training started; '
                      r'iteration (\S+)/(\S+), epoch (\S+), train_loss (\S+), (\S+) s/batch, ETA (\S+)s$', re.MULTILINE)


def wait_task_output(out):
    """What the play printed from the wait task's header to the next task's."""
    assert out.count(WAIT_TASK) == 1, out
    return out.split(WAIT_TASK, 1)[1].split('\nTASK [', 1)[0]


def failure(out):
    """The result of the task that failed, as the default callback prints it."""
    return json.loads(re.search(r'^fatal: \[localhost\]: FAILED! => (\{.*\})$', out, re.MULTILINE).group(1))


def test_the_wait_is_one_task_with_a_progress_line_each_interval(fleet):
    run, artifacts, charrnn_dir = fleet
    # 30 iterations of 0.5s to the first checkpoint: several intervals of 2s
    rc, out = run('train.yml', '--skip-tags', 'charrnn_checkout',
                  '-e', '{"charrnn_train_options": {"batch_size": 10, "seq_length": 20, "eval_val_every": 30}}',
                  STANDIN_SLEEP='0.5')
    assert rc == 0, out
    # train.yml includes the role (newer ansible-core says so), and the role includes no task file,
    # least of all one per look
    included = [line for line in out.splitlines() if line.startswith('included:')]
    assert set(included) <= {'included: rnn_bootstrap.charrnn.training for localhost'}, out
    waited = wait_task_output(out)
    seconds = [int(m.group(1)) for m in PROGRESS.finditer(waited)]
    assert len(seconds) >= 2, waited
    assert all(later - earlier >= 2 for earlier, later in zip(seconds, seconds[1:])), seconds
    last = PROGRESS.findall(waited)[-1]
    assert last[1] != '-' and int(last[1]) < 30 and last[2] != '-', waited  # the run's iteration/total
    assert re.search(r'^ok: \[localhost\]$', waited, re.MULTILINE), waited
    assert PROGRESS.search(out[:out.index(WAIT_TASK)]) is None and PROGRESS.search(
        out[out.index(WAIT_TASK) + len(waited):]) is None, 'progress lines outside the wait task'
    shown = out.split('TASK [rnn_bootstrap.charrnn.training : Show the first checkpoint', 1)[1]
    first = int(re.search(r'(\d+)s after training started', shown).group(1))
    assert first >= seconds[-1], (first, seconds)


def test_the_wait_times_out_with_what_to_do(fleet):
    run, artifacts, charrnn_dir = fleet
    rc, out = run('train.yml', '--skip-tags', 'charrnn_checkout', '-e', 'charrnn_first_checkpoint_timeout=5',
                  '-e', '{"charrnn_train_options": {"batch_size": 10, "seq_length": 20, "eval_val_every": 1000}}',
                  STANDIN_SLEEP='0.05')
    assert rc != 0, out
    waited = wait_task_output(out)
    assert len(PROGRESS.findall(waited)) >= 2, waited
    # The wait fails with the one timeout message, in the role's own terms.
    result = failure(waited)
    log = charrnn_dir / 'cv' / ('train-%s.log' % run.session)
    assert result['msg'].startswith('Timed out after 5s waiting for the first checkpoint of savefile lstm; progress: iteration ')
    assert result['msg'].endswith(
        '. Training goes on in screen session %s; its log is %s. Raise charrnn_first_checkpoint_timeout, or lower '
        'eval_val_every in charrnn_train_options.' % (run.session, log))
    assert screen_sessions(run.session), 'the timeout stopped training'
    assert 'Sample from the first checkpoint' not in out


def test_the_wait_fails_at_once_when_the_trainer_dies(fleet):
    run, artifacts, charrnn_dir = fleet
    rc, out = run('train.yml', '--skip-tags', 'charrnn_checkout', '-v',
                  '-e', '{"charrnn_train_options": {"batch_size": 10, "seq_length": 20, "eval_val_every": 1000}}',
                  '-e', 'charrnn_first_checkpoint_timeout=120', STANDIN_SLEEP='0.1', STANDIN_CRASH_AT='40')
    assert rc != 0, out
    waited = wait_task_output(out)
    result = failure(waited)
    assert result['timed_out'] is False and result['elapsed'] < 60, result
    assert 'has ended (status error)' in result['msg'] and 'stack traceback:' in result['msg'], result
    assert result['log_tail'][-1] == '[charrnn] run ended: exit status 1'
    # with -v, each look that found nothing shows, before its progress line
    looks = re.findall(r'^localhost: look of 2s: (\{.*\})$', waited, re.MULTILINE)
    assert looks and len(looks) == len(PROGRESS.findall(waited)), waited
    assert json.loads(looks[0])['timed_out'] is True


def test_report_rows_of_a_fleet(tmp_path):
    """report.yml over two hosts in different states: each row from that host's figures and state."""
    if not ansible_playbook():
        pytest.skip('ansible-playbook not found')
    artifacts = tmp_path / 'artifacts'
    (artifacts / 'alpha').mkdir(parents=True)
    (artifacts / 'alpha' / 'train.log').write_text(
        ''.join('%d/3800 (epoch %.3f), train_loss = %.8f, grad/param norm = 5.0e-02, time/batch = 0.1234s\t\n'
                % (i, i / 38.0, 4.0 - i / 100.0) for i in range(1, 121)))
    alpha = {
        '_charrnn_first_figures': {'bootstrap_seconds': 754.2, 'first_checkpoint_seconds': 95.0},
        'charrnn_bootstrap_seconds': 12.3,
        '_charrnn_rerun': True,
        '__charrnn_status': {
            'training': {'running': True, 'status': 'training', 'iteration': 120, 'iterations': 3800,
                         'median_time_per_batch': 0.1234, 'train_loss': 1.98761, 'eta_seconds': 400.0,
                         'log_exists': True},
            'best': {'val_loss': 1.8}},
    }
    beta = {'__charrnn_status': {'training': {'running': False, 'status': 'stopped', 'log_exists': False},
                                 'best': None}}
    inventory = {'all': {'hosts': {
        # what the status and main entry points leave on each host, and the bootstrap time a play gives
        'alpha': dict(alpha, ansible_connection='local', ansible_python_interpreter=sys.executable),
        'beta': dict(beta, ansible_connection='local', ansible_python_interpreter=sys.executable),
    }, 'vars': {'charrnn_artifacts_dir': str(artifacts)}}}
    play = [{'hosts': 'all', 'gather_facts': True, 'gather_subset': ['!all', 'min'], 'tasks': [
        {'name': 'Report',
         'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.training', 'tasks_from': 'report.yml'}},
    ]}]
    (tmp_path / 'inventory.json').write_text(json.dumps(inventory))
    (tmp_path / 'play.json').write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([ansible_playbook(), '-i', str(tmp_path / 'inventory.json'), str(tmp_path / 'play.json')],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=120, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out
    rows = [line for line in (artifacts / 'report.md').read_text().splitlines() if line.startswith('| alpha')
            or line.startswith('| beta')]
    distribution = re.search(r'^\| alpha \| ([^|]*) \|', rows[0]).group(1)
    assert distribution.strip(), rows
    assert rows == [
        '| alpha | %s | 12m 34s | 1m 35s | 12s | running | 120/3800 | 0.123 | 1.9876 | 1.8000 | 6m 40s | - |'
        % distribution,
        '| beta | %s | - | - | - | stopped | - | - | - | - | - | - |' % distribution,
    ]
