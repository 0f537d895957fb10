# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import sampling as _sampling
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.modules import sample

SESSION = 'unit-sample-%d' % os.getpid()
# How the stand-in th marks its checkpoint files (tests/stand_in_trainer/th).
HEADER = b'STAND-IN char-rnn checkpoint (tests/stand_in_trainer/th, not a Torch file)\n'


@pytest.fixture
def trained(charrnn_dir, stand_in_th):
    """A fake char-rnn dir with checkpoints from a finished stand-in run (no log: plain files)."""
    env = dict(os.environ, STANDIN_SLEEP='0')
    subprocess.check_call([stand_in_th, 'train.lua', '-data_dir', 'data/tiny', '-batch_size', '10',
                           '-seq_length', '50', '-eval_val_every', '20', '-max_epochs', '1', '-gpuid', '-1'],
                          cwd=str(charrnn_dir), env=env, stdout=subprocess.DEVNULL)
    cv = charrnn_dir / 'cv'
    old = time.time() - 60
    for i, name in enumerate(sorted(os.listdir(str(cv)))):
        os.utime(str(cv / name), (old + i, old + i))
    return charrnn_dir


def run(module_runner, args, **kw):
    return module_runner(sample.main, dict({'session': SESSION}, **args), **kw)


def base(trained, stand_in_th, **kw):
    args = {'chdir': str(trained), 'th': stand_in_th, 'length': 60}
    args.update(kw)
    return args


def test_latest_and_best(module_runner, trained, stand_in_th):
    names = sorted(os.listdir(str(trained / 'cv')))
    assert len(names) == 2  # epoch 0.53 and 1.00
    r = run(module_runner, base(trained, stand_in_th))
    assert r['changed'] is False
    assert os.path.basename(r['checkpoint']).startswith('lm_lstm_epoch1.00_')
    assert len(r['text']) == 60 and not r['text'].endswith('\t')
    assert r['command'][:3] == [stand_in_th, 'sample.lua', r['checkpoint']]
    assert r['command'][r['command'].index('-verbose') + 1] == '0'
    again = run(module_runner, base(trained, stand_in_th))
    assert again['text'] == r['text']  # seeded
    other = run(module_runner, base(trained, stand_in_th, seed=5))
    assert other['text'] != r['text']
    best = run(module_runner, base(trained, stand_in_th, checkpoint='best'))
    assert best['checkpoint'] == r['checkpoint']  # the stand-in's loss decreases


def test_auto_samples_the_best_checkpoint_of_an_early_stop(module_runner, trained, stand_in_th):
    cv = trained / 'cv'
    first, last = sorted(os.listdir(str(cv)))
    assert run(module_runner, base(trained, stand_in_th))['checkpoint'] == str(cv / last)  # auto: the latest
    with open(_paths.default_log_path(str(cv), SESSION), 'w') as f:
        f.write('%s\n[charrnn] early stop at iteration 38, best checkpoint cv/%s: 1 validation(s) without a new best '
                'validation loss\nTerminated\n[charrnn] run ended: exit status 143\n' % (_log.RUN_MARKER, first))
    assert run(module_runner, base(trained, stand_in_th))['checkpoint'] == str(cv / first)
    assert run(module_runner, base(trained, stand_in_th, checkpoint='latest'))['checkpoint'] == str(cv / last)
    # the decision's best gone (retention, a user), auto takes the best of those left
    os.unlink(str(cv / first))
    assert run(module_runner, base(trained, stand_in_th))['checkpoint'] == str(cv / last)


def test_sample_lua_runs_on_the_forced_openblas_core(module_runner, trained, stand_in_th, tmp_path,
                                                     fake_openblas_fallback, monkeypatch):
    seen = tmp_path / 'seen'
    th = tmp_path / 'bin' / 'th'  # the stand-in, telling which core each of its runs was given
    th.parent.mkdir()
    th.write_text('#!/bin/sh\necho "$1 ${OPENBLAS_CORETYPE:-none}" >> %s\nexec %s "$@"\n' % (seen, stand_in_th))
    th.chmod(0o755)
    fake_openblas_fallback()
    r = run(module_runner, base(trained, str(th)))
    assert r['command'][1] == 'sample.lua'
    assert seen.read_text().splitlines()[-1] == 'sample.lua SkylakeX'
    monkeypatch.setenv('OPENBLAS_CORETYPE', 'Haswell')  # the task's own choice wins
    run(module_runner, base(trained, str(th)))
    assert seen.read_text().splitlines()[-1] == 'sample.lua Haswell'


def test_primetext_argmax_and_relative_path(module_runner, trained, stand_in_th):
    name = sorted(os.listdir(str(trained / 'cv')))[0]
    r = run(module_runner, base(trained, stand_in_th, checkpoint='cv/' + name, primetext='All:', sample=False,
                                length=5))
    assert r['checkpoint'] == str(trained / 'cv' / name)
    data = (trained / 'data' / 'tiny' / 'input.txt').read_text()
    top = max(sorted(set(data)), key=data.count)
    assert r['text'] == 'All:' + top * 5  # primetext, then the stand-in's argmax: the most frequent character


def test_primetext_outside_vocabulary_is_refused_before_sampling(module_runner, module_fail, trained, stand_in_th):
    with pytest.raises(module_fail) as e:
        run(module_runner, base(trained, stand_in_th, primetext=u'All~\u20ac~'))
    msg = e.value.result['msg']
    assert "primetext has 2 character(s) the model's vocabulary lacks: '~', '\u20ac'" in msg
    assert 'remove these from primetext' in msg
    assert e.value.result['command'] == []  # sample.lua never ran


def test_sample_lua_crash_reported_with_its_traceback(module_runner, module_fail, trained, stand_in_th,
                                                      monkeypatch):
    # Let the primetext past the vocabulary check to see sample.lua's own crash handled.
    monkeypatch.setattr(_sampling, 'missing_characters', lambda text, vocab: [])
    with pytest.raises(module_fail) as e:
        run(module_runner, base(trained, stand_in_th, primetext=u'Zebra~'))
    msg = e.value.result['msg']
    assert 'sample.lua failed (exit status 1)' in msg and 'index out of bound' in msg
    assert "not be in the model's vocabulary" in msg
    assert e.value.result['stderr_lines'][1] == 'stack traceback:'
    monkeypatch.setenv('STANDIN_ERROR_EXIT0', '1')
    with pytest.raises(module_fail) as e:
        run(module_runner, base(trained, stand_in_th, primetext='~~'))
    assert 'exit status 0' in e.value.result['msg']


def test_a_file_that_is_no_char_rnn_checkpoint_is_refused(module_runner, module_fail, trained, stand_in_th):
    cv = trained / 'cv'
    garbage = cv / 'lm_lstm_epoch0.10_2.0000.t7'
    garbage.write_bytes(b'\x00not a torch file')
    other = cv / 'lm_lstm_epoch0.20_2.0000.t7'
    other.write_bytes(HEADER + b'{"something": "else"}\n')
    old = time.time() - 60
    for path in (garbage, other):
        os.utime(str(path), (old, old))
    with pytest.raises(module_fail) as e:
        run(module_runner, base(trained, stand_in_th, checkpoint=str(garbage)))
    assert 'checkpoint %s cannot be loaded: read error' % garbage in e.value.result['msg']
    assert 'not a char-rnn checkpoint, it is truncated' in e.value.result['msg']
    with pytest.raises(module_fail) as e:
        run(module_runner, base(trained, stand_in_th, checkpoint=str(other)))
    assert 'is a Torch file but not a char-rnn checkpoint' in e.value.result['msg']


@pytest.mark.parametrize('kw,fragment', [
    ({'checkpoint': 'cv/model.t7'}, 'not a char-rnn checkpoint name'),
    ({'checkpoint': 'cv/lm_lstm_epoch3.00_1.0000.t7'}, 'does not exist'),
    ({'checkpoint': 'latest', 'savefile': 'gru'}, "no complete checkpoint of savefile 'gru'"),
    ({'checkpoint_dir': 'nowhere'}, 'no complete checkpoint'),
    ({'temperature': 0}, 'temperature must be > 0'),
    ({'temperature': 'hot'}, 'temperature'),
    ({'length': 0}, 'length must be >= 1'),
    ({'gpuid': -3}, 'gpuid must be -1'),
    ({'threads': 0}, 'threads must be >= 1'),
    ({'seed': -1}, 'seed must be >= 0'),
    ({'sample': 'sometimes'}, 'sample'),
    ({'th': '/nonexistent/th'}, 'does not exist'),
    ({'dest': '/nonexistent-dir/out.txt'}, 'directory of dest'),
])
def test_bad_inputs(module_runner, module_fail, trained, stand_in_th, kw, fragment):
    with pytest.raises(module_fail) as e:
        run(module_runner, base(trained, stand_in_th, **kw))
    assert fragment in e.value.result['msg']


def test_no_sample_lua(module_runner, module_fail, tmp_path, stand_in_th):
    with pytest.raises(module_fail) as e:
        run(module_runner, {'chdir': str(tmp_path), 'th': stand_in_th})
    assert 'sample.lua not found' in e.value.result['msg']


def test_checkpoint_being_written_is_refused(module_runner, module_fail, trained, stand_in_th):
    cv = trained / 'cv'
    fresh = cv / 'lm_lstm_epoch2.00_1.0000.t7'
    fresh.write_bytes((cv / sorted(os.listdir(str(cv)))[0]).read_bytes())
    log = cv / ('train-%s.log' % SESSION)
    log.write_text('[charrnn] run started\nsaving checkpoint to cv/%s\t\n' % fresh.name)
    # pretend the trainer runs: a pid file with a live train.lua process
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', 'train.lua'])
    try:
        end = time.time() + 5  # Popen can return before the child's exec is visible in /proc
        while time.time() < end and not _processes.is_script_process(proc.pid, 'train.lua'):
            time.sleep(0.01)
        (cv / ('train-%s.log.pid' % SESSION)).write_text('%d\n' % proc.pid)
        with pytest.raises(module_fail) as e:
            run(module_runner, base(trained, stand_in_th, checkpoint=str(fresh)))
        assert 'still being written' in e.value.result['msg']
        r = run(module_runner, base(trained, stand_in_th))
        assert r['checkpoint'] != str(fresh)  # latest skips it
    finally:
        proc.kill()
        proc.wait()


def test_dest_changed_check_mode_and_diff(module_runner, trained, stand_in_th, tmp_path):
    dest = tmp_path / 'out.txt'
    r = run(module_runner, base(trained, stand_in_th, dest=str(dest)), check_mode=True, diff=True)
    assert r['changed'] is True and not dest.exists()
    assert r['diff']['after'] == r['text']
    r = run(module_runner, base(trained, stand_in_th, dest=str(dest)))
    assert r['changed'] is True and dest.read_text() == r['text']
    r = run(module_runner, base(trained, stand_in_th, dest=str(dest)))
    assert r['changed'] is False
    r = run(module_runner, base(trained, stand_in_th, dest=str(dest), seed=9), check_mode=True)
    assert r['changed'] is True and dest.read_text() != r['text']
