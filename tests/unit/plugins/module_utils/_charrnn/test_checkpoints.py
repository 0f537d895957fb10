# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import checkpoints as _checkpoints


@pytest.mark.parametrize('name,savefile,epoch,loss,text', [
    ('lm_lstm_epoch0.95_1.9512.t7', 'lstm', 0.95, 1.9512, '1.9512'),
    ('lm_lstm_epoch11.82_1.4003.t7', 'lstm', 11.82, 1.4003, '1.4003'),
    ('lm_my_big_model_epoch3.00_2.0000.t7', 'my_big_model', 3.0, 2.0, '2.0000'),
    ('lm_a_epoch1_epoch2.50_1.1000.t7', 'a_epoch1', 2.5, 1.1, '1.1000'),
    ('lm_lstm_epoch1.00_nan.t7', 'lstm', 1.0, None, 'nan'),
    ('lm_lstm_epoch1.00_-nan.t7', 'lstm', 1.0, None, '-nan'),
    ('lm_lstm_epoch1.00_inf.t7', 'lstm', 1.0, None, 'inf'),
    ('/abs/dir/lm_gru_epoch0.05_3.2100.t7', 'gru', 0.05, 3.21, '3.2100'),
])
def test_parse_name(name, savefile, epoch, loss, text):
    info = _checkpoints.parse_name(name)
    assert info == {'savefile': savefile, 'epoch': epoch, 'val_loss': loss, 'val_loss_text': text}


@pytest.mark.parametrize('name', [
    'lm_lstm_epoch0.95_1.9512.t7.tmp', 'lstm_epoch0.95_1.9512.t7', 'lm_lstm_epochX_1.9.t7',
    'lm__epoch1.00_1.0000.t7', 'vocab.t7', 'train-charrnn.log', 'lm_lstm_epoch1.00_.t7',
])
def test_parse_name_rejects(name):
    assert _checkpoints.parse_name(name) is None


def _touch(directory, name, mtime, size=10):
    path = os.path.join(str(directory), name)
    with open(path, 'wb') as f:
        f.write(b'x' * size)
    os.utime(path, (mtime, mtime))
    return path


def test_list_orders_by_mtime_not_by_name(tmp_path):
    # numeric epoch order within one run: 9.46 before 11.82, though '11' < '9' as text
    _touch(tmp_path, 'lm_lstm_epoch11.82_1.4000.t7', 2000)
    _touch(tmp_path, 'lm_lstm_epoch9.46_1.5000.t7', 1000)
    _touch(tmp_path, 'lm_other_epoch20.00_1.0000.t7', 3000)
    _touch(tmp_path, 'notes.txt', 4000)
    names = [e['name'] for e in _checkpoints.list_checkpoints(str(tmp_path), 'lstm')]
    assert names == ['lm_lstm_epoch9.46_1.5000.t7', 'lm_lstm_epoch11.82_1.4000.t7']
    assert sorted(names) != names  # the text order would be wrong
    allnames = [e['name'] for e in _checkpoints.list_checkpoints(str(tmp_path))]
    assert allnames[-1] == 'lm_other_epoch20.00_1.0000.t7'


def test_resumed_run_is_newer_although_its_epoch_is_lower(tmp_path):
    _touch(tmp_path, 'lm_lstm_epoch5.00_1.3000.t7', 1000)
    _touch(tmp_path, 'lm_lstm_epoch10.00_1.2000.t7', 2000)
    # resumed with -init_from: epoch count restarted
    _touch(tmp_path, 'lm_lstm_epoch1.00_1.1500.t7', 3000)
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    assert _checkpoints.latest(entries)['name'] == 'lm_lstm_epoch1.00_1.1500.t7'
    assert _checkpoints.best(entries)['name'] == 'lm_lstm_epoch1.00_1.1500.t7'


def test_later_runs_belong_to_the_savefile_and_get_their_own_names(tmp_path):
    assert _checkpoints.run_savefile(str(tmp_path), 'lstm') == 'lstm'
    _touch(tmp_path, 'lm_lstm_epoch10.00_1.2000.t7', 1000)
    assert _checkpoints.run_savefile(str(tmp_path), 'lstm') == 'lstm.run2'
    _touch(tmp_path, 'lm_lstm.run2_epoch1.00_1.1500.t7', 2000)
    _touch(tmp_path, 'lm_lstm.run10_epoch0.50_1.1000.t7', 3000)
    _touch(tmp_path, 'lm_lstm.runx_epoch0.50_0.1000.t7', 4000)  # another savefile
    _touch(tmp_path, 'lm_lstmx.run3_epoch0.50_0.1000.t7', 4000)  # another savefile
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    assert [e['name'] for e in entries] == [
        'lm_lstm_epoch10.00_1.2000.t7', 'lm_lstm.run2_epoch1.00_1.1500.t7', 'lm_lstm.run10_epoch0.50_1.1000.t7']
    assert _checkpoints.latest(entries)['name'] == 'lm_lstm.run10_epoch0.50_1.1000.t7'
    assert _checkpoints.run_savefile(str(tmp_path), 'lstm') == 'lstm.run11'
    assert _checkpoints.run_number('lstm.run2', 'lstm') == 2 and _checkpoints.run_number('lstm.run2', 'lstm.run2') == 1
    assert _checkpoints.run_number('gru', 'lstm') is None


def test_a_checkpoint_about_to_be_brought_in_counts_as_present(tmp_path):
    elsewhere = '/home/u/lm_lstm.run3_epoch4.35_1.5740.t7'
    assert _checkpoints.run_savefile(str(tmp_path), 'lstm', also=[elsewhere]) == 'lstm.run4'
    assert _checkpoints.run_savefile(str(tmp_path), 'lstm', also=['/x/lm_gru_epoch1.00_1.0000.t7']) == 'lstm'
    _touch(tmp_path, 'lm_lstm.run7_epoch10.00_1.2000.t7', 1000)
    assert _checkpoints.run_savefile(str(tmp_path), 'lstm', also=[elsewhere]) == 'lstm.run8'
    assert _checkpoints.base_savefile('lstm.run3') == 'lstm' and _checkpoints.base_savefile('lstm') == 'lstm'


def test_same_mtime_tie_breaks_on_epoch(tmp_path):
    _touch(tmp_path, 'lm_lstm_epoch2.00_1.0000.t7', 1000)
    _touch(tmp_path, 'lm_lstm_epoch1.00_1.0000.t7', 1000)
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    assert [e['epoch'] for e in entries] == [1.0, 2.0]
    # equal val_loss: best is the most recent
    assert _checkpoints.best(entries)['epoch'] == 2.0


def test_best_ignores_nan(tmp_path):
    _touch(tmp_path, 'lm_lstm_epoch1.00_-nan.t7', 1000)
    _touch(tmp_path, 'lm_lstm_epoch2.00_2.5000.t7', 1100)
    _touch(tmp_path, 'lm_lstm_epoch3.00_2.7000.t7', 1200)
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    assert _checkpoints.best(entries)['name'] == 'lm_lstm_epoch2.00_2.5000.t7'
    assert _checkpoints.best([entries[0]]) is None
    assert _checkpoints.latest([]) is None


def test_newer_than(tmp_path):
    a = _touch(tmp_path, 'lm_lstm_epoch1.00_2.0000.t7', 1000)
    _touch(tmp_path, 'lm_lstm_epoch2.00_1.9000.t7', 2000)
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    ref = _checkpoints.ref_from_path(a)
    assert [e['epoch'] for e in _checkpoints.newer_than(entries, ref)] == [2.0]
    assert len(_checkpoints.newer_than(entries, None)) == 2
    assert _checkpoints.ref_from_path(str(tmp_path / 'missing.t7')) is None


class FakeSleep:
    def __init__(self, action=None):
        self.calls = []
        self.action = action

    def __call__(self, seconds):
        self.calls.append(seconds)
        if self.action:
            self.action()


def test_classify_log_followed_is_complete_even_when_fresh(tmp_path):
    now = 5000.0
    _touch(tmp_path, 'lm_lstm_epoch1.00_2.0000.t7', now - 0.1)
    _touch(tmp_path, 'lm_lstm_epoch2.00_1.9000.t7', now - 0.05)
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    saves = {'cv/lm_lstm_epoch1.00_2.0000.t7': True, 'cv/lm_lstm_epoch2.00_1.9000.t7': False}
    sleep = FakeSleep()
    done, busy = _checkpoints.classify(entries, saves, trainer_running=True, now=now, sleeper=sleep)
    assert [e['epoch'] for e in done] == [1.0]
    assert [e['epoch'] for e in busy] == [2.0]
    assert sleep.calls == []  # no stability pause needed while the trainer runs


def test_classify_last_saving_line_and_trainer_gone_needs_stable_size(tmp_path):
    now = 5000.0
    path = _touch(tmp_path, 'lm_lstm_epoch2.00_1.9000.t7', now - 0.05)
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    saves = {'cv/lm_lstm_epoch2.00_1.9000.t7': False}
    done, busy = _checkpoints.classify(entries, saves, trainer_running=False, now=now, sleeper=FakeSleep())
    assert [e['epoch'] for e in done] == [2.0] and busy == []

    def grow():
        with open(path, 'ab') as f:
            f.write(b'more')
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    done, busy = _checkpoints.classify(entries, saves, trainer_running=False, now=now, sleeper=FakeSleep(grow))
    assert done == [] and [e['epoch'] for e in busy] == [2.0]


def test_classify_never_completes_what_a_dead_trainer_was_writing(tmp_path):
    now = 5000.0
    _touch(tmp_path, 'lm_lstm_epoch1.00_2.0000.t7', now - 100)
    _touch(tmp_path, 'lm_lstm_epoch2.00_1.9000.t7', now - 100)  # old and stable, but maybe truncated
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    saves = {'cv/lm_lstm_epoch1.00_2.0000.t7': True, 'cv/lm_lstm_epoch2.00_1.9000.t7': False}
    done, left = _checkpoints.classify(entries, saves, trainer_running=False, now=now, abandoned=True)
    assert [e['epoch'] for e in done] == [1.0] and [e['epoch'] for e in left] == [2.0]
    done, left = _checkpoints.classify(entries, saves, trainer_running=False, now=now, abandoned=False)
    assert [e['epoch'] for e in done] == [1.0, 2.0] and left == []


def test_classify_unlogged_checkpoint_uses_age(tmp_path):
    now = 5000.0
    _touch(tmp_path, 'lm_lstm_epoch1.00_2.0000.t7', now - 10)
    _touch(tmp_path, 'lm_lstm_epoch2.00_1.9000.t7', now - 1)
    entries = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')
    done, busy = _checkpoints.classify(entries, {}, trainer_running=True, now=now, settle=3)
    assert [e['epoch'] for e in done] == [1.0]
    assert [e['epoch'] for e in busy] == [2.0]
    # no log at all, no trainer: a stable fresh file is complete
    sleep = FakeSleep()
    done, busy = _checkpoints.classify(entries, None, trainer_running=False, now=now, settle=3, sleeper=sleep)
    assert [e['epoch'] for e in done] == [1.0, 2.0]
    assert len(sleep.calls) == 1


def test_public_has_no_internal_keys(tmp_path):
    _touch(tmp_path, 'lm_lstm_epoch1.00_2.0000.t7', 1000, size=7)
    e = _checkpoints.list_checkpoints(str(tmp_path), 'lstm')[0]
    pub = _checkpoints.public(e)
    assert set(pub) == {'path', 'name', 'epoch', 'val_loss', 'val_loss_text', 'size', 'mtime'}
    assert pub['size'] == 7 and pub['mtime'] == 1000
    assert _checkpoints.public(None) is None
