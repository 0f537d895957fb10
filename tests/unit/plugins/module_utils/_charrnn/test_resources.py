# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import resources as _resources


class _Statvfs:
    def __init__(self, free):
        self.f_bavail, self.f_frsize = free, 1


def test_checkpoint_size_estimate_covers_char_rnn_default_model():
    # the default model on tinyshakespeare (vocabulary 65) writes checkpoints of about 3.4 MB
    each = _resources.estimate_checkpoint_bytes({})
    assert 3.4e6 < each < 8e6
    assert _resources.estimate_checkpoint_bytes({'rnn_size': 512, 'num_layers': 3}) > 10 * each
    assert _resources.estimate_checkpoint_bytes({'model': 'rnn'}) < each


def test_checkpoints_to_store():
    # 50 epochs of 423 batches, a checkpoint every 1000 iterations and one at the end
    assert _resources.checkpoints_to_store({}, 423) == 22
    assert _resources.checkpoints_to_store({}, 423, keep=3) == 5
    assert _resources.checkpoints_to_store({'max_epochs': 1, 'eval_val_every': 100}, 423, keep=30) == 5


def test_disk_space_error_names_the_fix(tmp_path):
    dataset = {'train_batches': 423, 'input_bytes': 1115394, 'needs_preprocessing': True}
    assert _resources.disk_space_error(str(tmp_path / 'cv'), {}, dataset, statvfs=lambda p: _Statvfs(1 << 40)) is None
    err = _resources.disk_space_error(str(tmp_path / 'cv'), {}, dataset, statvfs=lambda p: _Statvfs(50 << 20))
    assert 'not enough free disk space for checkpoints in %s' % (tmp_path / 'cv') in err
    assert '50 MiB free' in err and '22 checkpoint(s)' in err and 'set keep' in err
    err = _resources.disk_space_error(str(tmp_path), {}, dataset, keep=2, statvfs=lambda p: _Statvfs(50 << 20))
    assert '4 checkpoint(s)' in err and 'at once with keep=2' in err


def test_parameter_count_is_char_rnn_s():
    # train.lua prints "number of parameters in the model: 240321" for its default model on tinyshakespeare
    assert _resources.parameter_count('lstm', 128, 2, 65) == 240321
    assert _resources.parameter_count('rnn', 128, 2, 65) < _resources.parameter_count('gru', 128, 2, 65) \
        < _resources.parameter_count('lstm', 128, 2, 65)


def test_memory_estimate_parts():
    default = _resources.estimate_memory_bytes('lstm', 128, 2, 65, 50, 50, 1115394)
    assert default['total'] == sum(v for k, v in default.items() if k != 'total')
    assert default['parameters'] == 240321 * 8 * _resources.PARAMETER_COPIES
    assert default['corpus'] == 2 * 1115394
    # char-rnn's default model on tinyshakespeare trains on a box with 1 GiB and no swap
    assert default['total'] < 600 << 20
    assert _resources.estimate_memory_bytes('lstm', 128, 2, 65, 50, 50, 1115394, needs_preprocessing=True)['corpus'] \
        == 3 * 1115394


def test_memory_estimate_grows_with_what_char_rnn_keeps():
    base = dict(model='lstm', rnn_size=128, num_layers=2, vocab=65, seq_length=50, batch_size=50,
                input_bytes=1 << 20)

    def total(**kw):
        return _resources.estimate_memory_bytes(**dict(base, **kw))['total']
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
    assert _resources.available_memory_bytes(str(meminfo), str(cgroup)) == 8000000 * 1024
    # cgroup v2, no limit
    (cgroup / 'memory.max').write_text('max\n')
    (cgroup / 'memory.current').write_text('%d\n' % (100 << 20))
    assert _resources.available_memory_bytes(str(meminfo), str(cgroup)) == 8000000 * 1024
    # a container with --memory 1g, 100 MiB used
    (cgroup / 'memory.max').write_text('%d\n' % (1 << 30))
    assert _resources.available_memory_bytes(str(meminfo), str(cgroup)) == (1 << 30) - (100 << 20)
    # cgroup v1
    v1 = tmp_path / 'v1'
    (v1 / 'memory').mkdir(parents=True)
    (v1 / 'memory' / 'memory.limit_in_bytes').write_text('%d\n' % (512 << 20))
    (v1 / 'memory' / 'memory.usage_in_bytes').write_text('%d\n' % (12 << 20))
    assert _resources.available_memory_bytes(str(meminfo), str(v1)) == 500 << 20
    (v1 / 'memory' / 'memory.limit_in_bytes').write_text('9223372036854771712\n')  # v1's "no limit"
    assert _resources.available_memory_bytes(str(meminfo), str(v1)) == 8000000 * 1024
    assert _resources.available_memory_bytes(str(tmp_path / 'none'), str(tmp_path / 'none')) is None


def test_memory_warning_names_the_parts_and_the_fix():
    estimate = _resources.estimate_memory_bytes('lstm', 512, 3, 65, 50, 50, 1115394)
    assert _resources.memory_warning(estimate, None) is None
    assert _resources.memory_warning(estimate, estimate['total']) is None
    warning = _resources.memory_warning(estimate, 900 << 20)
    assert warning.startswith('the run needs about %d MiB of memory' % _resources.mib_up(estimate['total']))
    assert 'this host has 900 MiB available' in warning and 'Lower rnn_size, num_layers, batch_size or seq_length' \
        in warning
    # memory a restart frees counts as available
    assert _resources.memory_warning(estimate, 900 << 20, freed=estimate['total']) is None
