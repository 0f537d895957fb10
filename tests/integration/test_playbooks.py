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
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import SCREEN, ansible_playbook, collections_root, screen_sessions  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAND_IN_TH = os.path.join(REPO, 'tests', 'stand_in_trainer', 'th')


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

    def run(playbook, *extra):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_HOST_KEY_CHECKING='0', STANDIN_SLEEP='0.02')
        cmd = [ansible_playbook(), '-i', str(path), os.path.join(REPO, 'playbooks', playbook)] + list(extra)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=240,
                              check=False)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace')

    yield run, artifacts, charrnn_dir
    for sid in screen_sessions(session):
        subprocess.run([SCREEN, '-S', sid, '-X', 'quit'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)


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
