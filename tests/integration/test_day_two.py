# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Day two through ansible-playbook on localhost, with a real GNU screen, the stand-in trainer and a
char-rnn checkout made by the char_rnn role from a small git repository laid out like char-rnn's
(train.lua, sample.lua, .gitignore of *.t7, a tracked data/tinyshakespeare/input.txt):

1. a new corpus with charrnn_train_state=restarted trains a new model and waits for its own checkpoint;
2. a corpus of your own never dirties the checkout, and a checkout an earlier version dirtied is repaired;
3. a bigger model while resuming is a new model, not the checkpoint's silently;
4. a re-run of site.yml keeps each host's first figures and adds its own.

The roles run as root with the current user as training user (root here), as in test_role_failures.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import getpass
import glob
import grp
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import (SCREEN, STAND_IN_TH, ansible_playbook, collections_root,  # noqa: E402
                                kill_trainers, screen_sessions, trainer_pids)

sys.path.insert(0, collections_root())
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import waiter as _waiter  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAKESPEARE = ('First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n' * 400)[:20000]
POEMS = ("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
         "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date.\n" * 150)[:20000]
SMALL = {'batch_size': 10, 'seq_length': 20, 'eval_val_every': 15, 'max_epochs': 200}
# A number printed with float noise, as in 0.22010000000000002.
FLOAT_NOISE = re.compile(r'\d\.\d*0000000\d|\d\.\d*9999999\d')

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='the roles create directories as root and become '
                                                          'the training user')


def git(*args, **kw):
    return subprocess.check_output(['git', '-c', 'user.name=t', '-c', 'user.email=t@example.invalid'] + list(args),
                                   **kw).decode()


def char_rnn_mirror(base):
    """A bare repository <base>/karpathy/char-rnn.git laid out like char-rnn; returns its commit."""
    work = base / 'work'
    (work / 'data' / 'tinyshakespeare').mkdir(parents=True)
    (work / 'train.lua').write_text('-- placeholder for char-rnn train.lua (tests)\n')
    (work / 'sample.lua').write_text('-- placeholder for char-rnn sample.lua (tests)\n')
    (work / '.gitignore').write_text('*.t7\n')
    (work / 'data' / 'tinyshakespeare' / 'input.txt').write_text(SHAKESPEARE)
    git('init', '-q', str(work))
    git('-C', str(work), 'add', '-A')
    git('-C', str(work), 'commit', '-q', '-m', 'char-rnn stand-in')
    bare = base / 'mirror' / 'karpathy' / 'char-rnn.git'
    git('clone', '-q', '--bare', str(work), str(bare))
    return git('-C', str(work), 'rev-parse', 'HEAD').strip()


class Day2:
    def __init__(self, tmp_path):
        if SCREEN is None:
            pytest.skip('GNU screen is not installed')
        if not ansible_playbook():
            pytest.skip('ansible-playbook not found')
        self.tmp = tmp_path
        self.commit = char_rnn_mirror(tmp_path)
        self.checkout = tmp_path / 'checkout'
        self.session = 'it-day2-%d-%s' % (os.getpid(), tmp_path.name[-12:].replace('_', '-'))
        self.poems = tmp_path / 'poems.txt'
        self.poems.write_text(POEMS)
        self.artifacts = tmp_path / 'artifacts'
        self.facts = tmp_path / 'facts.d'
        self.runs = 0
        self.variables = {
            'charrnn_dir': str(self.checkout),
            'charrnn_user': getpass.getuser(),
            'charrnn_group': grp.getgrgid(os.getgid()).gr_name,
            'charrnn_user_home': str(tmp_path),
            'charrnn_git_mirror': 'file://%s/mirror/' % tmp_path,
            'charrnn_version': self.commit,
            'charrnn_th': STAND_IN_TH,
            'charrnn_train_session': self.session,
            'charrnn_train_options': SMALL,
            'charrnn_progress_interval': 2,
            'charrnn_first_checkpoint_timeout': 90,
            'charrnn_sample_length': 80,
            'charrnn_artifacts_dir': str(self.artifacts),
            'charrnn_facts_dir': str(self.facts),
            'ansible_become_method': 'su',
            'ansible_python_interpreter': sys.executable,
        }

    def run(self, playbook=None, extra=None, args=(), env_extra=None):
        """ansible-playbook on localhost: by default the char_rnn checkout and the training role."""
        self.runs += 1
        base = self.tmp / ('run%d' % self.runs)
        base.mkdir()
        if playbook is None:
            play = [{'name': 'Day two', 'hosts': 'charrnn', 'gather_facts': False, 'tasks': [
                {'name': 'Check out char-rnn and place the dataset',
                 'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.char_rnn', 'tasks_from': 'checkout'}},
                {'name': 'Train', 'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.training'}},
            ]}]
            playbook = base / 'play.json'
            playbook.write_text(json.dumps(play))
        variables = dict(self.variables, **(extra or {}))
        (base / 'vars.json').write_text(json.dumps(variables))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_HOST_KEY_CHECKING='0',
                   STANDIN_SLEEP='0.02')
        env.update(env_extra or {})
        (base / 'inventory').write_text('[charrnn]\nlocalhost ansible_connection=local\n')
        proc = subprocess.run([ansible_playbook(), '-i', str(base / 'inventory'), str(playbook),
                               '-e', '@%s' % (base / 'vars.json'), '--skip-tags', 'charrnn_verify'] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(base), env=env, timeout=300,
                              check=False)
        out = proc.stdout.decode('utf-8', 'replace')
        (base / 'output.txt').write_text(out)
        return proc.returncode, out

    def git_status(self):
        return git('-C', str(self.checkout), 'status', '--porcelain')

    def log(self):
        return (self.checkout / 'cv' / ('train-%s.log' % self.session)).read_text()

    def last_run_log(self):
        return self.log().rsplit('[charrnn] run started', 1)[1]

    def cleanup(self):
        for sid in screen_sessions(self.session):
            subprocess.run([SCREEN, '-S', sid, '-X', 'quit'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
        # the wrapper outlives screen's hangup: end the trainers too
        kill_trainers(self.checkout, self.tmp / 'new-machine')


@pytest.fixture
def day2(tmp_path):
    d = Day2(tmp_path)
    yield d
    d.cleanup()


def shown(out, name):
    """The line a debug task printed for `name` (a task name)."""
    part = out.split('TASK [%s]' % name)
    return part[-1].split('TASK [', 1)[0] if len(part) > 1 else ''


@needs_root
def test_a_new_corpus_trains_a_new_model_and_waits_for_its_own_checkpoint(day2):
    rc, out = day2.run()
    assert rc == 0, out
    assert 'lm_lstm_epoch' in shown(out, 'rnn_bootstrap.charrnn.training : Show the first checkpoint and the start of '
                                         'the sample')
    first_pid = trainer_pids(day2.checkout)
    assert len(first_pid) == 1
    assert day2.git_status() == ''

    rc, out = day2.run(extra={'charrnn_dataset_src': str(day2.poems), 'charrnn_train_state': 'restarted'})
    assert rc == 0, out
    said = shown(out, 'rnn_bootstrap.charrnn.training : Say how training runs')
    assert 'Training started' in said and 'savefile lstm.run2' in said and ', resumed from' not in said
    assert 'a new model, not resumed from %s/cv/lm_lstm_epoch' % day2.checkout in said
    assert 'vocabulary: data/poems/input.txt has ' in said
    assert '[WARNING]: not resuming from' in out
    # the checkpoint waited for and sampled is the new run's, not the earlier run's
    found = shown(out, 'rnn_bootstrap.charrnn.training : Show the first checkpoint and the start of the sample')
    assert 'lm_lstm.run2_epoch' in found, found
    run_log = day2.last_run_log()
    assert '-data_dir data/poems' in run_log.splitlines()[0] and '-init_from' not in run_log.splitlines()[0]
    assert 'not the same' not in run_log and re.search(r'^\d+/\d+ \(epoch ', run_log, re.MULTILINE)
    pids = trainer_pids(day2.checkout)
    assert len(pids) == 1 and pids != first_pid
    # the corpus has a directory of its own; char-rnn's file and git status are untouched
    assert (day2.checkout / 'data' / 'poems' / 'input.txt').read_text() == POEMS
    assert (day2.checkout / 'data' / 'tinyshakespeare' / 'input.txt').read_text() == SHAKESPEARE
    assert day2.git_status() == ''
    assert not FLOAT_NOISE.search(out), FLOAT_NOISE.search(out).group(0)

    # asked to resume, a new architecture fails before anything is stopped or started
    options = dict(SMALL, rnn_size=256)
    rc, out = day2.run(extra={'charrnn_dataset_src': str(day2.poems), 'charrnn_train_state': 'restarted',
                              'charrnn_train_require_resume': True, 'charrnn_train_options': options})
    assert rc != 0, out
    assert 'require_resume: training cannot resume from %s/cv/lm_lstm.run2_epoch' % day2.checkout in out
    assert 'rnn_size: 256 asked, the checkpoint has 128' in out and 'Nothing was stopped or started' in out
    assert trainer_pids(day2.checkout) == pids


@needs_root
def test_a_bigger_model_while_resuming_is_a_new_model(day2):
    rc, out = day2.run()
    assert rc == 0, out
    options = dict(SMALL, rnn_size=256)
    rc, out = day2.run(extra={'charrnn_train_state': 'restarted', 'charrnn_train_options': options})
    assert rc == 0, out
    said = shown(out, 'rnn_bootstrap.charrnn.training : Say how training runs')
    assert 'savefile lstm.run2' in said and 'rnn_size: 256 asked, the checkpoint has 128' in said
    run_log = day2.last_run_log()
    # trained as asked: a new network, not the checkpoint's silently kept
    assert 'creating an lstm with 2 layers' in run_log and 'overwriting' not in run_log
    newest = sorted(glob.glob(str(day2.checkout / 'cv' / 'lm_lstm.run2_epoch*.t7')), key=os.path.getmtime)[-1]
    with open(newest, 'rb') as f:
        assert json.loads(f.read().split(b'\n')[1])['opt']['rnn_size'] == 256

    # the same options again continue that model
    rc, out = day2.run(extra={'charrnn_train_state': 'restarted', 'charrnn_train_options': options})
    assert rc == 0, out
    said = shown(out, 'rnn_bootstrap.charrnn.training : Say how training runs')
    assert 'savefile lstm.run3' in said and 'resumed from %s/cv/lm_lstm.run2_epoch' % day2.checkout in said
    assert 'overwriting rnn_size=256, num_layers=2, model=lstm based on the checkpoint.' in day2.last_run_log()


@needs_root
def test_a_checkout_an_earlier_version_dirtied_is_repaired(day2):
    git('clone', '-q', 'file://%s/mirror/karpathy/char-rnn.git' % day2.tmp, str(day2.checkout))
    git('-C', str(day2.checkout), 'checkout', '-q', day2.commit)
    tracked = day2.checkout / 'data' / 'tinyshakespeare'
    (tracked / 'input.txt').write_text(POEMS)  # what earlier versions did with charrnn_dataset_src
    (tracked / 'vocab.t7').write_text('{"vocab": []}')
    (tracked / 'data.t7').write_text('{"len": 0}')
    assert day2.git_status() == ' M data/tinyshakespeare/input.txt\n'

    # check mode says what it would do and changes nothing
    rc, out = day2.run(args=['--check'])
    assert rc == 0, out
    assert 'check mode: nothing moved yet' in out
    assert (tracked / 'input.txt').read_text() == POEMS and not glob.glob(str(tracked) + '-local-*')
    assert trainer_pids(day2.checkout) == []

    rc, out = day2.run(extra={'charrnn_dataset_src': str(day2.poems)})
    assert rc == 0, out
    assert 'Local modifications exist' not in out
    kept = glob.glob(str(tracked) + '-local-*')
    assert len(kept) == 1
    assert open(os.path.join(kept[0], 'input.txt')).read() == POEMS
    assert sorted(os.listdir(kept[0])) == ['data.t7', 'input.txt', 'vocab.t7']
    assert (tracked / 'input.txt').read_text() == SHAKESPEARE
    assert (day2.checkout / 'data' / 'poems' / 'input.txt').read_text() == POEMS
    assert '-data_dir data/poems' in day2.last_run_log().splitlines()[0]
    # training wrote checkpoints, logs and vocab.t7/data.t7: git sees none of it
    assert list((day2.checkout / 'cv').glob('lm_lstm_epoch*.t7'))
    assert day2.git_status() == ''

    # a second run changes nothing in the checkout
    rc, out = day2.run(extra={'charrnn_dataset_src': str(day2.poems)})
    assert rc == 0, out
    assert len(glob.glob(str(tracked) + '-local-*')) == 1 and day2.git_status() == ''


@needs_root
def test_a_change_that_is_not_the_collection_s_is_reported_with_the_fix(day2):
    git('clone', '-q', 'file://%s/mirror/karpathy/char-rnn.git' % day2.tmp, str(day2.checkout))
    (day2.checkout / 'train.lua').write_text('-- patched by hand\n')
    rc, out = day2.run()
    assert rc != 0
    assert 'has local changes to char-rnn\'s own files, which the checkout at charrnn_version would refuse: ' \
           'train.lua' in out
    assert 'git -C %s stash' % day2.checkout in out and 'git -C %s checkout -- train.lua' % day2.checkout in out
    assert (day2.checkout / 'train.lua').read_text() == '-- patched by hand\n'
    assert trainer_pids(day2.checkout) == []


@needs_root
def test_a_custom_corpus_is_never_written_over_a_tracked_file(day2):
    rc, out = day2.run(extra={'charrnn_dataset_src': str(day2.poems), 'charrnn_dataset_name': 'tinyshakespeare'})
    assert rc != 0
    assert 'a file of char-rnn\'s own (its git tracks it)' in out and 'Set charrnn_dataset_name' in out
    assert (day2.checkout / 'data' / 'tinyshakespeare' / 'input.txt').read_text() == SHAKESPEARE
    assert trainer_pids(day2.checkout) == []


def report_row(artifacts):
    text = (artifacts / 'report.md').read_text()
    row = [line for line in text.splitlines() if line.startswith('| localhost |')][0]
    return [cell.strip() for cell in row.strip('|').split('|')]


@needs_root
def test_a_site_re_run_keeps_the_first_figures(day2):
    # site.yml without the system roles (packages, Torch); the checkout comes from the char-rnn stand-in
    git('clone', '-q', 'file://%s/mirror/karpathy/char-rnn.git' % day2.tmp, str(day2.checkout))
    site = os.path.join(REPO, 'playbooks', 'site.yml')
    skip = ['--skip-tags', 'charrnn_deps,charrnn_torch,charrnn_checkout,charrnn_verify']
    # the sample's first line starts with it, so that each print of the sample shows
    primed = {'charrnn_sample_primetext': 'Speak, speak'}
    rc, out = day2.run(site, extra=primed, args=skip)
    assert rc == 0, out
    assert out.count('"Speak, speak') == 1, 'the sample is printed once: %s' % out
    fact = day2.facts / 'charrnn.fact'
    first = json.loads(fact.read_text())
    assert sorted(first) == ['bootstrap_seconds', 'first_checkpoint_seconds']
    assert first['first_checkpoint_seconds'] > 0
    row = report_row(day2.artifacts)
    assert row[4] == '-'  # no re-run yet
    figures = row[2:4]
    assert not FLOAT_NOISE.search(out), FLOAT_NOISE.search(out).group(0)
    stamp = fact.stat().st_mtime_ns

    rc, out = day2.run(site, extra=primed, args=skip)
    assert rc == 0, out
    assert out.count('"Speak, speak') == 1, 'the sample is printed once: %s' % out
    assert json.loads(fact.read_text()) == first and fact.stat().st_mtime_ns == stamp
    row = report_row(day2.artifacts)
    assert row[2:4] == figures and row[4] != '-'
    summary = shown(out, "rnn_bootstrap.charrnn.training : Summarize this play's run on each host")
    assert '(first run); this re-run ' in summary
    assert 'first checkpoint: lm_lstm_epoch' in summary and 'time to the first checkpoint ' in summary, summary
    assert 'Training already running' in out
    assert re.search(r'localhost +: ok=\d+ +changed=0 ', out), 'a re-run changes nothing, the report included'
    assert not FLOAT_NOISE.search(out), FLOAT_NOISE.search(out).group(0)


@needs_root
def test_training_that_stops_early_is_finished_and_sampled_at_its_best(day2):
    # validation loss rises after iteration 40 while training loss falls: the model overfits
    overfits = {'STANDIN_OVERFIT_AFTER': '40', 'STANDIN_SLEEP': '0.05'}
    early = {'charrnn_train_patience': 3, 'charrnn_hourly_price': 0.5,
             'charrnn_train_options': dict(SMALL, eval_val_every=10)}
    rc, out = day2.run(extra=early, env_extra=overfits)
    assert rc == 0, out
    assert 'lm_lstm_epoch' in shown(out, 'rnn_bootstrap.charrnn.training : Show the first checkpoint and the start of '
                                         'the sample')
    assert _waiter.wait_until(lambda: not trainer_pids(day2.checkout), 120, 0.5), 'early stopping did not end the run'
    stops = [line for line in day2.log().splitlines() if line.startswith('[charrnn] early stop at iteration ')]
    assert len(stops) == 1, day2.log()[-3000:]
    best = stops[0].split('best checkpoint ', 1)[1].split(': ', 1)[0]
    assert best.startswith('cv/lm_lstm_epoch0.4') and '3 validation(s) without a new best validation loss since ' \
        'iteration 40' in stops[0]

    rc, out = day2.run(os.path.join(REPO, 'playbooks', 'status.yml'), extra=early,
                       args=['--skip-tags', 'charrnn_verify'])
    assert rc == 0, out
    report = (day2.artifacts / 'report.md').read_text()
    assert report_row(day2.artifacts)[5] == 'finished'
    standing = report.split('## How the runs stand: early stops, ETA and cost, advice\n\n', 1)[1].split('\n\n')[0]
    lines = standing.splitlines()
    assert lines[0].startswith('- localhost: stopped early at iteration ') and best in lines[0], standing
    assert re.match(r'- localhost: ETA: the run has ended \(finished\), \d+\.\d+ spent in (under a minute|\d+ min) '
                    r'at 0\.5 an hour$', lines[1]), standing
    assert all(line.startswith('- localhost: advice: ') for line in lines[2:]), standing
    assert 'stopped early at iteration' in out  # the report is shown

    # a re-run leaves the finished run alone
    rc, out = day2.run(extra=early, env_extra=overfits)
    assert rc == 0, out
    said = shown(out, 'rnn_bootstrap.charrnn.training : Say how training runs')
    assert 'Training already finished' in said and 'early stopping ended it at iteration ' in said, said
    assert not trainer_pids(day2.checkout) and day2.log().count('[charrnn] run started') == 1

    rc, out = day2.run(os.path.join(REPO, 'playbooks', 'sample.yml'), extra=early)
    assert rc == 0, out
    sampled = [p.name for p in (day2.artifacts / 'localhost').glob('sample-*.txt')]
    assert sampled == ['sample-%s-t1.0-s123.txt' % os.path.splitext(os.path.basename(best))[0]], sampled


@needs_root
def test_a_run_moves_to_a_new_machine_through_the_controller(day2):
    """The spot story: fetch.yml keeps the latest checkpoint on the controller, the machine goes, a new one
    continues from that checkpoint, and a re-run there keeps what the new machine trained."""
    rc, out = day2.run()
    assert rc == 0, out
    fetch = day2.tmp / 'fetch.json'
    include = {'name': 'rnn_bootstrap.charrnn.training', 'tasks_from': 'fetch'}
    fetch.write_text(json.dumps([{'name': 'Fetch', 'hosts': 'charrnn', 'gather_facts': False,
                                  'tasks': [{'name': 'Fetch', 'ansible.builtin.include_role': include}]}]))
    rc, out = day2.run(playbook=fetch)
    assert rc == 0, out
    kept = sorted((day2.artifacts / 'localhost').glob('lm_lstm_epoch*.t7'), key=lambda p: p.stat().st_mtime)
    assert kept, out
    day2.cleanup()  # the machine is gone
    kill_trainers(day2.checkout)

    # as typed, relative to where ansible-playbook runs
    relative = os.path.relpath(str(kept[-1]), str(day2.tmp / ('run%d' % (day2.runs + 1))))
    new_machine = {'charrnn_dir': str(day2.tmp / 'new-machine'), 'charrnn_train_resume_from': relative,
                   'charrnn_train_session': day2.session + '-new'}
    day2.session = new_machine['charrnn_train_session']
    rc, out = day2.run(extra=new_machine)
    assert rc == 0, out
    copy = day2.tmp / 'new-machine' / 'cv' / kept[-1].name
    said = shown(out, 'rnn_bootstrap.charrnn.training : Say how training runs')
    assert 'Training started' in said and 'savefile lstm.run2, resumed from %s' % copy in said, said
    assert copy.read_bytes() == kept[-1].read_bytes()
    first_line = (day2.tmp / 'new-machine' / 'cv' / ('train-%s.log' % day2.session)).read_text().rsplit(
        '[charrnn] run started', 1)[1].splitlines()[0]
    assert '-init_from %s' % copy in first_line

    # a re-run on the new machine continues its own latest checkpoint, not the one brought from the controller
    rc, out = day2.run(extra=dict(new_machine, charrnn_train_state='restarted'))
    assert rc == 0, out
    said = shown(out, 'rnn_bootstrap.charrnn.training : Say how training runs')
    assert 'resumed from %s/new-machine/cv/lm_lstm.run2_epoch' % day2.tmp in said, said
    # ansible-core 2.16 wraps long warnings at the terminal's width, at spaces and hyphens
    warned = '[WARNING]: resume_from %s/new-machine/cv/resume-from/%s is left alone' % (day2.tmp, kept[-1].name)
    assert ''.join(warned.split()) in ''.join(out.split())

    # a checkpoint the controller does not have fails before anything changes on the host
    rc, out = day2.run(extra=dict(new_machine, charrnn_train_resume_from=str(day2.tmp / 'nothing.t7'),
                                  charrnn_train_state='restarted'))
    assert rc != 0 and 'charrnn_train_resume_from %s/nothing.t7 is not a file on the controller' % day2.tmp in out
