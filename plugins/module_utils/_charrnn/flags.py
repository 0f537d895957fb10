# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""train.lua's flags: their table, validation, and the trainer's command line.

The flag table follows karpathy/char-rnn at commit 6f9487a (train.lua)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision

# name: (kind, train.lua default).  kind is 'int', 'float' or 'str'; train.lua
# itself only knows numbers and strings (torch.CmdLine infers the type from
# the default), the int/float split is ours: sizes and counts must be whole.
# Listed in train.lua's order, which is also the order flags are passed in.
TRAIN_FLAGS = [
    ('data_dir', 'str', 'data/tinyshakespeare'),
    ('rnn_size', 'int', 128),
    ('num_layers', 'int', 2),
    ('model', 'str', 'lstm'),
    ('learning_rate', 'float', 2e-3),
    ('learning_rate_decay', 'float', 0.97),
    ('learning_rate_decay_after', 'float', 10),
    ('decay_rate', 'float', 0.95),
    ('dropout', 'float', 0),
    ('seq_length', 'int', 50),
    ('batch_size', 'int', 50),
    ('max_epochs', 'float', 50),
    ('grad_clip', 'float', 5),
    ('train_frac', 'float', 0.95),
    ('val_frac', 'float', 0.05),
    ('init_from', 'str', ''),
    ('seed', 'int', 123),
    ('print_every', 'int', 1),
    ('eval_val_every', 'int', 1000),
    ('checkpoint_dir', 'str', 'cv'),
    ('savefile', 'str', 'lstm'),
    ('accurate_gpu_timing', 'int', 0),
    ('gpuid', 'int', 0),
    ('opencl', 'int', 0),
]
FLAG_KINDS = dict((n, k) for n, k, d in TRAIN_FLAGS)
FLAG_DEFAULTS = dict((n, d) for n, k, d in TRAIN_FLAGS)
FLAG_ORDER = [n for n, k, d in TRAIN_FLAGS]
# Flags the train module sets itself, and the module option to use instead.
OWNED_FLAGS = {
    'data_dir': 'data_dir',
    'checkpoint_dir': 'checkpoint_dir',
    'gpuid': 'gpuid',
    'init_from': 'resume',
}
MODELS = ('lstm', 'gru', 'rnn')
SAVEFILE_RE = re.compile(r'^[A-Za-z0-9_.+-]+$')
# Value ranges: name -> (minimum, minimum inclusive?, maximum, maximum inclusive?)
RANGES = {
    'rnn_size': (1, True, None, None),
    'num_layers': (1, True, None, None),
    'learning_rate': (0, False, None, None),
    'learning_rate_decay': (0, False, 1, True),
    'learning_rate_decay_after': (0, True, None, None),
    'decay_rate': (0, False, 1, False),
    'dropout': (0, True, 1, False),
    'seq_length': (1, True, None, None),
    'batch_size': (1, True, None, None),
    'max_epochs': (0, False, None, None),
    'grad_clip': (0, False, None, None),
    'train_frac': (0, True, 1, True),
    'val_frac': (0, True, 1, True),
    'seed': (0, True, None, None),
    'print_every': (1, True, None, None),
    'eval_val_every': (1, True, None, None),
    'accurate_gpu_timing': (0, True, 1, True),
    'opencl': (0, True, 1, True),
}


class OptionError(ValueError):
    """A train.lua flag or a dataset does not fit; the message says what to fix."""


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def coerce_flag(name, value):
    """Type-check and normalise one flag value (raises OptionError)."""
    kind = FLAG_KINDS[name]
    if kind == 'str':
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise OptionError("options.%s must be a string, got %s %r" % (name, type(value).__name__, value))
        value = str(value)
        if name == 'model' and value not in MODELS:
            raise OptionError("options.model must be one of %s, got %r" % (', '.join(MODELS), value))
        if name == 'savefile' and not SAVEFILE_RE.match(value):
            raise OptionError("options.savefile must be a non-empty name of letters, digits, '_', '.', '+' "
                              "or '-' (it becomes part of the checkpoint file names), got %r" % value)
        return value
    if isinstance(value, bool):
        raise OptionError("options.%s must be %s, got a boolean (%r)"
                          % (name, 'an integer' if kind == 'int' else 'a number', value))
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if kind == 'int' else float(text)
        except ValueError:
            raise OptionError("options.%s must be %s, got %r"
                              % (name, 'an integer' if kind == 'int' else 'a number', value))
    if not _is_number(value):
        raise OptionError("options.%s must be %s, got %s %r"
                          % (name, 'an integer' if kind == 'int' else 'a number', type(value).__name__, value))
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise OptionError("options.%s must be a finite number, got %r" % (name, value))
    if kind == 'int':
        if isinstance(value, float):
            if value != int(value):
                raise OptionError("options.%s must be an integer, got %r" % (name, value))
            value = int(value)
    else:
        value = float(value)
    rng = RANGES.get(name)
    if rng:
        lo, lo_inc, hi, hi_inc = rng
        bad = False
        if lo is not None and (value < lo or (value == lo and not lo_inc)):
            bad = True
        if hi is not None and (value > hi or (value == hi and not hi_inc)):
            bad = True
        if bad:
            lo_txt = '' if lo is None else ('%s %s' % ('>=' if lo_inc else '>', lo))
            hi_txt = '' if hi is None else ('%s %s' % ('<=' if hi_inc else '<', hi))
            raise OptionError("options.%s must be %s, got %r"
                              % (name, ' and '.join(t for t in (lo_txt, hi_txt) if t), value))
    return value


def validate_options(options):
    """Validate the train module's `options` dict; return normalised flags.

    Unknown flags and flags owned by the module are errors.
    """
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise OptionError("options must be a dictionary of train.lua flags, got %s" % type(options).__name__)
    flags = {}
    for name in sorted(options):
        key = str(name)
        if key.startswith('-'):
            raise OptionError("options key %r: write flag names without the leading '-' (e.g. rnn_size)" % key)
        if key in OWNED_FLAGS:
            raise OptionError("options.%s is set by the module: use the module option '%s' instead"
                              % (key, OWNED_FLAGS[key]))
        if key not in FLAG_KINDS:
            known = ', '.join(n for n in FLAG_ORDER if n not in OWNED_FLAGS)
            raise OptionError("options.%s is not a train.lua flag; known flags: %s" % (key, known))
        flags[key] = coerce_flag(key, options[name])
    return flags


def format_value(value):
    """Format a flag value the way torch.CmdLine reads it back."""
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def flag_value(flags, name):
    return flags.get(name, FLAG_DEFAULTS[name])


def build_train_argv(th, flags, data_dir, checkpoint_dir, gpuid, init_from=None, savefile=None,
                     precision=_precision.NATIVE_PRECISION, prelude=None):
    """argv of `th train.lua ...`: module-owned flags first, then options in train.lua order.

    savefile, when given, replaces the options' savefile (a later run's <savefile>.run<N>).
    precision other than char-rnn's own double runs train.lua through the prelude at path prelude
    (see _precision.trainer_argv).
    """
    if savefile is not None and savefile != flag_value(flags, 'savefile'):
        flags = dict(flags, savefile=savefile)
    argv = [th, 'train.lua', '-data_dir', data_dir, '-checkpoint_dir', checkpoint_dir,
            '-gpuid', str(int(gpuid))]
    for name in FLAG_ORDER:
        if name in flags and name not in OWNED_FLAGS:
            argv.extend(['-' + name, format_value(flags[name])])
    if init_from:
        argv.extend(['-init_from', init_from])
    return _precision.trainer_argv(argv, precision, prelude)


def argv_flags(argv):
    """Every train.lua flag of a train.lua argv, typed, with train.lua's defaults for those not given."""
    flags = {}
    for name in FLAG_DEFAULTS:
        try:
            flags[name] = coerce_flag(name, argv_flag(argv, name))
        except OptionError:
            flags[name] = FLAG_DEFAULTS[name]
    return flags


def argv_flag(argv, name):
    """The value of -name in a train.lua argv, or train.lua's default when it is not there."""
    argv = list(argv or [])
    for i, arg in enumerate(argv[:-1]):
        if arg == '-' + name:
            return argv[i + 1]
    return FLAG_DEFAULTS.get(name)
