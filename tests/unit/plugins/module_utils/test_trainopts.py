# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import trainopts
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils.trainopts import OptionError

# A directory of bare mirrors (the same variable the molecule scenario reads), when there is one.
CHARRNN_GIT = os.path.join(os.environ.get('CHARRNN_GIT_MIRROR_PATH', '/nonexistent'), 'karpathy', 'char-rnn.git')


def test_flag_table_matches_train_lua_when_available():
    """The table is train.lua's cmd:option list (checked against the mirror when present)."""
    if not os.path.isdir(CHARRNN_GIT):
        pytest.skip('no char-rnn mirror at %s (set CHARRNN_GIT_MIRROR_PATH)' % CHARRNN_GIT)
    src = subprocess.check_output(['git', '--git-dir', CHARRNN_GIT, 'show', 'HEAD:train.lua']).decode()
    import re
    found = re.findall(r"cmd:option\('-(\w+)',\s*([^,]+),", src)
    assert [n for n, d in found] == trainopts.FLAG_ORDER
    for name, default in found:
        default = default.strip()
        ours = trainopts.FLAG_DEFAULTS[name]
        if default.startswith("'") or default.startswith('"'):
            assert ours == default.strip('\'"'), name
        else:
            assert float(default) == float(ours), name


@pytest.mark.parametrize('options,fragment', [
    ({'rnn_size': 'abc'}, 'options.rnn_size must be an integer'),
    ({'rnn_size': 1.5}, 'options.rnn_size must be an integer'),
    ({'rnn_size': True}, 'got a boolean'),
    ({'rnn_size': 0}, 'options.rnn_size must be >= 1'),
    ({'rnn_size': [1]}, 'must be an integer, got list'),
    ({'num_layers': -1}, 'options.num_layers must be >= 1'),
    ({'model': 'transformer'}, 'options.model must be one of lstm, gru, rnn'),
    ({'model': 3}, 'options.model must be one of'),
    ({'learning_rate': 0}, 'options.learning_rate must be > 0'),
    ({'learning_rate': 'fast'}, 'options.learning_rate must be a number'),
    ({'learning_rate': float('nan')}, 'must be a finite number'),
    ({'dropout': 1}, 'options.dropout must be >= 0 and < 1'),
    ({'dropout': -0.1}, 'options.dropout must be >= 0 and < 1'),
    ({'decay_rate': 1}, 'options.decay_rate must be > 0 and < 1'),
    ({'learning_rate_decay': 1.5}, 'options.learning_rate_decay must be > 0 and <= 1'),
    ({'seq_length': 0}, 'options.seq_length must be >= 1'),
    ({'batch_size': '10x'}, 'options.batch_size must be an integer'),
    ({'max_epochs': 0}, 'options.max_epochs must be > 0'),
    ({'grad_clip': -5}, 'options.grad_clip must be > 0'),
    ({'train_frac': 1.5}, 'options.train_frac must be >= 0 and <= 1'),
    ({'val_frac': -0.01}, 'options.val_frac must be >= 0 and <= 1'),
    ({'seed': -1}, 'options.seed must be >= 0'),
    ({'print_every': 0}, 'options.print_every must be >= 1'),
    ({'eval_val_every': 0}, 'options.eval_val_every must be >= 1'),
    ({'accurate_gpu_timing': 2}, 'options.accurate_gpu_timing must be >= 0 and <= 1'),
    ({'opencl': 5}, 'options.opencl must be >= 0 and <= 1'),
    ({'savefile': 'a/b'}, 'options.savefile must be a non-empty name'),
    ({'savefile': ''}, 'options.savefile must be a non-empty name'),
    ({'savefile': True}, 'options.savefile must be a string'),
    ({'data_dir': 'x'}, "use the module option 'data_dir'"),
    ({'checkpoint_dir': 'x'}, "use the module option 'checkpoint_dir'"),
    ({'gpuid': 0}, "use the module option 'gpuid'"),
    ({'init_from': 'cv/x.t7'}, "use the module option 'resume'"),
    ({'rnn_sizes': 10}, 'options.rnn_sizes is not a train.lua flag; known flags: rnn_size'),
    ({'-rnn_size': 10}, "without the leading '-'"),
])
def test_validate_options_errors(options, fragment):
    with pytest.raises(OptionError) as e:
        trainopts.validate_options(options)
    assert fragment in str(e.value)


def test_validate_options_errors_on_non_dict():
    with pytest.raises(OptionError):
        trainopts.validate_options(['rnn_size'])


def test_validate_options_normalises():
    flags = trainopts.validate_options({
        'rnn_size': '256', 'num_layers': 3.0, 'learning_rate': '2e-3', 'dropout': 0, 'model': 'gru',
        'max_epochs': 0.5, 'savefile': 'my_model', 'seed': 7})
    assert flags == {'rnn_size': 256, 'num_layers': 3, 'learning_rate': 0.002, 'dropout': 0.0, 'model': 'gru',
                     'max_epochs': 0.5, 'savefile': 'my_model', 'seed': 7}
    assert trainopts.validate_options(None) == {}


def test_build_train_argv_order_and_format():
    flags = trainopts.validate_options({'savefile': 'm', 'rnn_size': 16, 'learning_rate': 2e-05, 'max_epochs': 1,
                                        'dropout': 0.25})
    argv = trainopts.build_train_argv('/opt/torch/bin/th', flags, 'data/x', 'cv', -1, init_from='/a/cv/c.t7')
    assert argv == ['/opt/torch/bin/th', 'train.lua', '-data_dir', 'data/x', '-checkpoint_dir', 'cv', '-gpuid', '-1',
                    '-rnn_size', '16', '-learning_rate', '2e-05', '-dropout', '0.25', '-max_epochs', '1',
                    '-savefile', 'm', '-init_from', '/a/cv/c.t7']


# -------------------------------------------------------- dataset arithmetic

@pytest.mark.parametrize('nbytes,bs,sl,tf,vf,expected', [
    # defaults 50x50 = 2500 chars/batch; 0.95 + 0.05 == 1.0 so test_frac == 0
    (2499, 50, 50, 0.95, 0.05, (0, 0, 0, 0)),
    (2500, 50, 50, 0.95, 0.05, (1, 0, 1, 0)),     # one batch: floor(0.95) = 0 training batches
    (4999, 50, 50, 0.95, 0.05, (1, 0, 1, 0)),
    (5000, 50, 50, 0.95, 0.05, (2, 1, 1, 0)),     # the smallest usable default input
    (1115394, 50, 50, 0.95, 0.05, (446, 423, 23, 0)),  # tinyshakespeare
    # 0.9 + 0.05 < 1: a test split exists and nval = floor(nbatches * 0.05)
    (19 * 2500, 50, 50, 0.9, 0.05, (19, 17, 0, 2)),
    (20 * 2500, 50, 50, 0.9, 0.05, (20, 18, 1, 1)),
    # train + val > 1: test_frac = max(0, ...) = 0
    (10 * 100, 10, 10, 0.9, 0.3, (10, 9, 1, 0)),
    (1000, 10, 10, 1.0, 0.0, (10, 10, 0, 0)),
])
def test_split_sizes(nbytes, bs, sl, tf, vf, expected):
    assert trainopts.split_sizes(nbytes, bs, sl, tf, vf) == expected


@pytest.mark.parametrize('bs,sl,tf,vf,expected', [
    (50, 50, 0.95, 0.05, 5000),
    (10, 10, 0.95, 0.05, 200),
    (50, 50, 0.9, 0.05, 20 * 2500),
    (10, 10, 1.0, 0.0, 100),
])
def test_minimum_bytes(bs, sl, tf, vf, expected):
    need = trainopts.minimum_bytes(bs, sl, tf, vf)
    assert need == expected
    # one byte less is not enough
    nb, ntrain, nval, dummy = trainopts.split_sizes(need - 1, bs, sl, tf, vf)
    assert ntrain < 1 or (vf > 0 and nval < 1)


def _data(tmp_path, nbytes):
    d = tmp_path / 'data'
    d.mkdir(exist_ok=True)
    (d / 'input.txt').write_bytes(b'a' * nbytes)
    return str(d)


def test_check_dataset_boundary(tmp_path):
    d = _data(tmp_path, 5000)
    info, warnings = trainopts.check_dataset(d, {})
    assert info['train_batches'] == 1 and info['val_batches'] == 1
    assert any('only 2 batches' in w for w in warnings)
    d = _data(tmp_path, 4999)
    with pytest.raises(OptionError) as e:
        trainopts.check_dataset(d, {})
    assert '0 training batches' in str(e.value) and 'at least 5000 bytes' in str(e.value)
    d = _data(tmp_path, 2499)
    with pytest.raises(OptionError) as e:
        trainopts.check_dataset(d, {})
    assert 'too small for one training batch' in str(e.value)


def test_check_dataset_counts_bytes_not_characters(tmp_path):
    d = tmp_path / 'data'
    d.mkdir()
    (d / 'input.txt').write_text(u'\u00e9' * 100, encoding='utf-8')  # 100 characters, 200 bytes
    info, dummy = trainopts.check_dataset(str(d), {'batch_size': 10, 'seq_length': 10})
    assert info['input_bytes'] == 200 and info['batches'] == 2


def test_check_dataset_no_validation_batch(tmp_path):
    d = _data(tmp_path, 19 * 2500)
    with pytest.raises(OptionError) as e:
        trainopts.check_dataset(d, {'train_frac': 0.9})
    assert '0 for validation' in str(e.value)
    d = _data(tmp_path, 1000)
    info, warnings = trainopts.check_dataset(d, {'batch_size': 10, 'seq_length': 10, 'train_frac': 1.0,
                                                 'val_frac': 0.0})
    assert info['val_batches'] == 0
    assert any('nan' in w for w in warnings)


def test_check_dataset_problems(tmp_path, monkeypatch):
    with pytest.raises(OptionError, match='does not exist'):
        trainopts.check_dataset(str(tmp_path / 'nope'), {})
    (tmp_path / 'file').write_text('x')
    with pytest.raises(OptionError, match='is not a directory'):
        trainopts.check_dataset(str(tmp_path / 'file'), {})
    d = tmp_path / 'd'
    d.mkdir()
    with pytest.raises(OptionError, match='input.txt is missing'):
        trainopts.check_dataset(str(d), {})
    (d / 'input.txt').mkdir()
    with pytest.raises(OptionError, match='is a directory, not a file'):
        trainopts.check_dataset(str(d), {})
    (d / 'input.txt').rmdir()
    (d / 'input.txt').write_text('')
    with pytest.raises(OptionError, match='is empty'):
        trainopts.check_dataset(str(d), {})
    (d / 'input.txt').write_text('x' * 6000)
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda p, m: False if str(p).endswith('input.txt') else real_access(p, m))
    with pytest.raises(OptionError, match='not readable'):
        trainopts.check_dataset(str(d), {})
    monkeypatch.setattr(os, 'access', lambda p, m: False if str(p) == str(d) else real_access(p, m))
    with pytest.raises(OptionError, match='vocab.t7 and data.t7'):
        trainopts.check_dataset(str(d), {})
    monkeypatch.setattr(os, 'access', real_access)
    (d / 'vocab.t7').write_text('v')
    with pytest.raises(OptionError, match='has vocab.t7 but not data.t7'):
        trainopts.check_dataset(str(d), {})


class _Statvfs:
    def __init__(self, free):
        self.f_bavail, self.f_frsize = free, 1


def test_checkpoint_size_estimate_covers_char_rnn_default_model():
    # the default model on tinyshakespeare (vocabulary 65) writes checkpoints of about 3.4 MB
    each = trainopts.estimate_checkpoint_bytes({})
    assert 3.4e6 < each < 8e6
    assert trainopts.estimate_checkpoint_bytes({'rnn_size': 512, 'num_layers': 3}) > 10 * each
    assert trainopts.estimate_checkpoint_bytes({'model': 'rnn'}) < each


def test_checkpoints_to_store():
    # 50 epochs of 423 batches, a checkpoint every 1000 iterations and one at the end
    assert trainopts.checkpoints_to_store({}, 423) == 22
    assert trainopts.checkpoints_to_store({}, 423, keep=3) == 5
    assert trainopts.checkpoints_to_store({'max_epochs': 1, 'eval_val_every': 100}, 423, keep=30) == 5


def test_disk_space_error_names_the_fix(tmp_path):
    dataset = {'train_batches': 423, 'input_bytes': 1115394, 'needs_preprocessing': True}
    assert trainopts.disk_space_error(str(tmp_path / 'cv'), {}, dataset, statvfs=lambda p: _Statvfs(1 << 40)) is None
    err = trainopts.disk_space_error(str(tmp_path / 'cv'), {}, dataset, statvfs=lambda p: _Statvfs(50 << 20))
    assert 'not enough free disk space for checkpoints in %s' % (tmp_path / 'cv') in err
    assert '50 MiB free' in err and '22 checkpoint(s)' in err and 'set keep' in err
    err = trainopts.disk_space_error(str(tmp_path), {}, dataset, keep=2, statvfs=lambda p: _Statvfs(50 << 20))
    assert '4 checkpoint(s)' in err and 'at once with keep=2' in err


def test_parameter_count_is_char_rnn_s():
    # train.lua prints "number of parameters in the model: 240321" for its default model on tinyshakespeare
    assert trainopts.parameter_count('lstm', 128, 2, 65) == 240321
    assert trainopts.parameter_count('rnn', 128, 2, 65) < trainopts.parameter_count('gru', 128, 2, 65) \
        < trainopts.parameter_count('lstm', 128, 2, 65)


def test_memory_estimate_parts():
    default = trainopts.estimate_memory_bytes('lstm', 128, 2, 65, 50, 50, 1115394)
    assert default['total'] == sum(v for k, v in default.items() if k != 'total')
    assert default['parameters'] == 240321 * 8 * trainopts.PARAMETER_COPIES
    assert default['corpus'] == 2 * 1115394
    # char-rnn's default model on tinyshakespeare trains on a box with 1 GiB and no swap
    assert default['total'] < 600 << 20
    assert trainopts.estimate_memory_bytes('lstm', 128, 2, 65, 50, 50, 1115394, needs_preprocessing=True)['corpus'] \
        == 3 * 1115394


def test_memory_estimate_grows_with_what_char_rnn_keeps():
    base = dict(model='lstm', rnn_size=128, num_layers=2, vocab=65, seq_length=50, batch_size=50,
                input_bytes=1 << 20)

    def total(**kw):
        return trainopts.estimate_memory_bytes(**dict(base, **kw))['total']
    # activations scale with the clones (seq_length) and the batch; the corpus is held whole
    assert total(seq_length=100) - total() == total(batch_size=100) - total()
    assert total(seq_length=100) - total() > 200 << 20
    assert total(input_bytes=(1 << 20) + (500 << 20)) - total() == 1000 << 20
    assert total(rnn_size=512, num_layers=3) > 4 * total()
    assert total(model='rnn') < total(model='gru') < total()


def test_available_memory_reads_meminfo_and_the_cgroup_limit(tmp_path):
    meminfo = tmp_path / 'meminfo'
    meminfo.write_text('MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    8000000 kB\n')
    cgroup = tmp_path / 'cgroup'
    cgroup.mkdir()
    assert trainopts.available_memory_bytes(str(meminfo), str(cgroup)) == 8000000 * 1024
    # cgroup v2, no limit
    (cgroup / 'memory.max').write_text('max\n')
    (cgroup / 'memory.current').write_text('%d\n' % (100 << 20))
    assert trainopts.available_memory_bytes(str(meminfo), str(cgroup)) == 8000000 * 1024
    # a container with --memory 1g, 100 MiB used
    (cgroup / 'memory.max').write_text('%d\n' % (1 << 30))
    assert trainopts.available_memory_bytes(str(meminfo), str(cgroup)) == (1 << 30) - (100 << 20)
    # cgroup v1
    v1 = tmp_path / 'v1'
    (v1 / 'memory').mkdir(parents=True)
    (v1 / 'memory' / 'memory.limit_in_bytes').write_text('%d\n' % (512 << 20))
    (v1 / 'memory' / 'memory.usage_in_bytes').write_text('%d\n' % (12 << 20))
    assert trainopts.available_memory_bytes(str(meminfo), str(v1)) == 500 << 20
    (v1 / 'memory' / 'memory.limit_in_bytes').write_text('9223372036854771712\n')  # v1's "no limit"
    assert trainopts.available_memory_bytes(str(meminfo), str(v1)) == 8000000 * 1024
    assert trainopts.available_memory_bytes(str(tmp_path / 'none'), str(tmp_path / 'none')) is None


def test_memory_warning_names_the_parts_and_the_fix():
    estimate = trainopts.estimate_memory_bytes('lstm', 512, 3, 65, 50, 50, 1115394)
    assert trainopts.memory_warning(estimate, None) is None
    assert trainopts.memory_warning(estimate, estimate['total']) is None
    warning = trainopts.memory_warning(estimate, 900 << 20)
    assert warning.startswith('the run needs about %d MiB of memory' % trainopts.mib_up(estimate['total']))
    assert 'this host has 900 MiB available' in warning and 'Lower rnn_size, num_layers, batch_size or seq_length' \
        in warning
    # memory a restart frees counts as available
    assert trainopts.memory_warning(estimate, 900 << 20, freed=estimate['total']) is None


def test_argv_flag():
    argv = ['th', 'train.lua', '-data_dir', 'd', '-savefile', 'lstm.run2', '-init_from', 'x']
    assert trainopts.argv_flag(argv, 'savefile') == 'lstm.run2'
    assert trainopts.argv_flag(['th', 'train.lua'], 'savefile') == 'lstm'
    assert trainopts.argv_flag(None, 'savefile') == 'lstm'
