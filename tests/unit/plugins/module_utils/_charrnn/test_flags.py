# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import flags as _flags
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.flags import OptionError

# A directory of bare mirrors (the same variable the molecule scenario reads), when there is one.
CHARRNN_GIT = os.path.join(os.environ.get('CHARRNN_GIT_MIRROR_PATH', '/nonexistent'), 'karpathy', 'char-rnn.git')


def test_flag_table_matches_train_lua_when_available():
    """The table is train.lua's cmd:option list (checked against the mirror when present)."""
    if not os.path.isdir(CHARRNN_GIT):
        pytest.skip('no char-rnn mirror at %s (set CHARRNN_GIT_MIRROR_PATH)' % CHARRNN_GIT)
    src = subprocess.check_output(['git', '--git-dir', CHARRNN_GIT, 'show', 'HEAD:train.lua']).decode()
    import re
    found = re.findall(r"cmd:option\('-(\w+)',\s*([^,]+),", src)
    assert [n for n, d in found] == _flags.FLAG_ORDER
    for name, default in found:
        default = default.strip()
        ours = _flags.FLAG_DEFAULTS[name]
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
        _flags.validate_options(options)
    assert fragment in str(e.value)


def test_validate_options_errors_on_non_dict():
    with pytest.raises(OptionError):
        _flags.validate_options(['rnn_size'])


def test_validate_options_normalises():
    flags = _flags.validate_options({
        'rnn_size': '256', 'num_layers': 3.0, 'learning_rate': '2e-3', 'dropout': 0, 'model': 'gru',
        'max_epochs': 0.5, 'savefile': 'my_model', 'seed': 7})
    assert flags == {'rnn_size': 256, 'num_layers': 3, 'learning_rate': 0.002, 'dropout': 0.0, 'model': 'gru',
                     'max_epochs': 0.5, 'savefile': 'my_model', 'seed': 7}
    assert _flags.validate_options(None) == {}


def test_build_train_argv_order_and_format():
    flags = _flags.validate_options({'savefile': 'm', 'rnn_size': 16, 'learning_rate': 2e-05, 'max_epochs': 1,
                                     'dropout': 0.25})
    argv = _flags.build_train_argv('/opt/torch/bin/th', flags, 'data/x', 'cv', -1, init_from='/a/cv/c.t7')
    assert argv == ['/opt/torch/bin/th', 'train.lua', '-data_dir', 'data/x', '-checkpoint_dir', 'cv', '-gpuid', '-1',
                    '-rnn_size', '16', '-learning_rate', '2e-05', '-dropout', '0.25', '-max_epochs', '1',
                    '-savefile', 'm', '-init_from', '/a/cv/c.t7']


def test_argv_flag():
    argv = ['th', 'train.lua', '-data_dir', 'd', '-savefile', 'lstm.run2', '-init_from', 'x']
    assert _flags.argv_flag(argv, 'savefile') == 'lstm.run2'
    assert _flags.argv_flag(['th', 'train.lua'], 'savefile') == 'lstm'
    assert _flags.argv_flag(None, 'savefile') == 'lstm'
