# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""train.lua's flags, their validation, and char-rnn's dataset arithmetic.

The flag table and the split arithmetic follow karpathy/char-rnn at commit
6f9487a (train.lua and util/CharSplitLMMinibatchLoader.lua).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import re

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import precision as prec

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
                     precision=prec.NATIVE_PRECISION, launcher=None):
    """argv of `th train.lua ...`: module-owned flags first, then options in train.lua order.

    savefile, when given, replaces the options' savefile (a later run's <savefile>.run<N>).
    precision other than char-rnn's own double runs train.lua through the launcher at path launcher
    (see precision.trainer_argv).
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
    return prec.trainer_argv(argv, precision, launcher)


def argv_flag(argv, name):
    """The value of -name in a train.lua argv, or train.lua's default when it is not there."""
    argv = list(argv or [])
    for i, arg in enumerate(argv[:-1]):
        if arg == '-' + name:
            return argv[i + 1]
    return FLAG_DEFAULTS.get(name)


def split_sizes(nbytes, batch_size, seq_length, train_frac, val_frac):
    """char-rnn's batch arithmetic: (nbatches, ntrain, nval, ntest).

    Mirrors CharSplitLMMinibatchLoader.create with the split fractions that
    train.lua computes: test_frac = math.max(0, 1 - (train_frac + val_frac)).
    The loader counts bytes (Lua strings), cuts the data to a multiple of
    batch_size*seq_length and makes nbatches = floor(len / (batch_size*seq_length)).
    """
    test_frac = max(0.0, 1 - (float(train_frac) + float(val_frac)))
    per_batch = batch_size * seq_length
    nbatches = nbytes // per_batch
    if test_frac == 0:
        ntrain = int(math.floor(nbatches * float(train_frac)))
        nval = nbatches - ntrain
        ntest = 0
    else:
        ntrain = int(math.floor(nbatches * float(train_frac)))
        nval = int(math.floor(nbatches * float(val_frac)))
        ntest = nbatches - nval - ntrain
    return nbatches, ntrain, nval, ntest


def minimum_bytes(batch_size, seq_length, train_frac, val_frac, limit=10 ** 12):
    """Smallest input size (bytes) that gives ntrain >= 1 and, when val_frac > 0, nval >= 1."""
    per_batch = batch_size * seq_length
    nb = 1
    while nb * per_batch <= limit:
        dummy, ntrain, nval, dummy = split_sizes(nb * per_batch, batch_size, seq_length, train_frac, val_frac)
        if ntrain >= 1 and (nval >= 1 or float(val_frac) == 0):
            return nb * per_batch
        nb = nb + 1 if nb < 1000 else nb * 2
    return None


def check_dataset(data_dir_abs, flags, data_dir_shown=None):
    """Check data_dir/input.txt against char-rnn's needs.

    Returns (info, warnings); raises OptionError with what to fix.
    """
    shown = data_dir_shown or data_dir_abs
    warnings = []
    if not os.path.exists(data_dir_abs):
        raise OptionError("data_dir %s does not exist: create it and put the training text in %s/input.txt"
                          % (shown, shown))
    if not os.path.isdir(data_dir_abs):
        raise OptionError("data_dir %s is not a directory: set data_dir to a directory holding input.txt" % shown)
    input_txt = os.path.join(data_dir_abs, 'input.txt')
    if not os.path.exists(input_txt):
        raise OptionError("%s/input.txt is missing: char-rnn trains on data_dir/input.txt; put the "
                          "training text there" % shown)
    if os.path.isdir(input_txt):
        raise OptionError("%s/input.txt is a directory, not a file: replace it with the training text" % shown)
    if not os.access(input_txt, os.R_OK):
        raise OptionError("%s/input.txt is not readable by this user (uid %d): fix its permissions"
                          % (shown, os.getuid()))
    nbytes = os.path.getsize(input_txt)
    if nbytes == 0:
        raise OptionError("%s/input.txt is empty: put the training text in it" % shown)
    batch_size = flag_value(flags, 'batch_size')
    seq_length = flag_value(flags, 'seq_length')
    train_frac = flag_value(flags, 'train_frac')
    val_frac = flag_value(flags, 'val_frac')
    nbatches, ntrain, nval, ntest = split_sizes(nbytes, batch_size, seq_length, train_frac, val_frac)
    per_batch = batch_size * seq_length
    need = minimum_bytes(batch_size, seq_length, train_frac, val_frac)
    if nbatches < 1:
        raise OptionError(
            "%s/input.txt is too small for one training batch: %d bytes < batch_size*seq_length = %d*%d = %d "
            "(char-rnn would crash); with train_frac %s and val_frac %s it needs at least %s bytes: "
            "add text or lower batch_size/seq_length"
            % (shown, nbytes, batch_size, seq_length, per_batch, train_frac, val_frac, need))
    if ntrain < 1:
        raise OptionError(
            "%s/input.txt is too small: %d bytes make %d batch(es) of %d chars and "
            "floor(%d * train_frac %s) = 0 training batches, so char-rnn would train 0 iterations and "
            "save no checkpoint; it needs at least %s bytes: add text or lower batch_size/seq_length"
            % (shown, nbytes, nbatches, per_batch, nbatches, train_frac, need))
    if nval < 1:
        if float(val_frac) > 0:
            raise OptionError(
                "%s/input.txt is too small for a validation batch: %d bytes make %d batch(es) of %d chars, "
                "%d for training and 0 for validation (val_frac %s), so every validation loss would be nan; "
                "it needs at least %s bytes: add text or lower batch_size/seq_length"
                % (shown, nbytes, nbatches, per_batch, ntrain, val_frac, need))
        warnings.append("val_frac is 0: char-rnn has no validation batches, its validation loss "
                        "(and the checkpoint names) will be nan")
    if nbatches < 50:
        warnings.append("%s/input.txt makes only %d batches (char-rnn warns below 50): consider a smaller "
                        "batch_size/seq_length" % (shown, nbatches))
    vocab_t7 = os.path.join(data_dir_abs, 'vocab.t7')
    data_t7 = os.path.join(data_dir_abs, 'data.t7')
    have_vocab, have_data = os.path.exists(vocab_t7), os.path.exists(data_t7)
    if have_vocab != have_data:
        raise OptionError(
            "%s has %s but not %s: char-rnn's loader then crashes; delete %s so that it preprocesses "
            "input.txt again" % (shown, 'vocab.t7' if have_vocab else 'data.t7',
                                 'data.t7' if have_vocab else 'vocab.t7',
                                 'vocab.t7' if have_vocab else 'data.t7'))
    needs_prepro = not have_vocab or (
        os.path.getmtime(input_txt) > os.path.getmtime(vocab_t7)
        or os.path.getmtime(input_txt) > os.path.getmtime(data_t7))
    if needs_prepro and not os.access(data_dir_abs, os.W_OK | os.X_OK):
        raise OptionError(
            "data_dir %s is not writable by this user (uid %d) but char-rnn must write vocab.t7 and data.t7 "
            "there on its first run: make it writable or preprocess once as its owner" % (shown, os.getuid()))
    info = {
        'input_bytes': nbytes,
        'needs_preprocessing': bool(needs_prepro),
        'batches': nbatches,
        'train_batches': ntrain,
        'val_batches': nval,
        'test_batches': ntest,
        'minimum_bytes': need,
    }
    return info, warnings


# Gates per layer of each cell type (char-rnn's LSTM.lua, GRU.lua, RNN.lua).
GATES = {'lstm': 4, 'gru': 3, 'rnn': 1}
# Bytes per parameter in a checkpoint: torch.save writes the parameters and their gradients as doubles.
CHECKPOINT_BYTES_PER_PARAMETER = 16
# A vocabulary can hold at most every byte value; the exact one is only known after preprocessing.
MAX_VOCAB = 256


def parameter_count(model, rnn_size, num_layers, vocab):
    """Parameters of char-rnn's network: each layer's input-to-hidden and hidden-to-hidden linear maps
    (weights and biases, one block per gate) and the decoder to the vocabulary."""
    gates = GATES.get(model, 4)
    params = 0
    for layer in range(num_layers):
        inputs = vocab if layer == 0 else rnn_size
        params += gates * rnn_size * (inputs + rnn_size) + 2 * gates * rnn_size
    return params + rnn_size * vocab + vocab


def estimate_checkpoint_bytes(flags, vocab=MAX_VOCAB):
    """Upper estimate of one checkpoint's size for the model the flags describe."""
    params = parameter_count(flag_value(flags, 'model'), flag_value(flags, 'rnn_size'),
                             flag_value(flags, 'num_layers'), vocab)
    # Loss histories (one double per iteration) and options come on top; a megabyte covers them.
    return params * CHECKPOINT_BYTES_PER_PARAMETER + (1 << 20)


# Memory of a training process. char-rnn keeps, in doubles: the parameters, their gradients, RMSProp's
# running average and a copy while torch.save serialises a checkpoint; one clone of the network per
# time step (seq_length of them), each holding its activations and their gradients for a whole batch;
# and the corpus, whole, as bytes (the data tensor and its shifted copy; a third copy while it is
# preprocessed). th, LuaJIT, nn/nngraph and OpenBLAS's buffers come on top.
PARAMETER_COPIES = 4
# Values per batch row that a clone keeps per layer, in units of rnn_size: the gate pre-activations of
# the input and hidden maps and their sum, the gates, the cell and the output.
ACTIVATIONS_PER_LAYER = {'lstm': 22, 'gru': 16, 'rnn': 4}
# Per clone and batch row, in units of the vocabulary: the one-hot input, the decoder's output and the
# log-softmax.
ACTIVATIONS_PER_VOCAB = 3
RUNTIME_BYTES = 96 << 20
DOUBLE = 8


def estimate_memory_bytes(model, rnn_size, num_layers, vocab, seq_length, batch_size, input_bytes,
                          needs_preprocessing=False):
    """Estimated memory of char-rnn training this model on a corpus of input_bytes: a dict with the parts
    (parameters, activations, corpus, runtime) and their total, in bytes."""
    params = parameter_count(model, rnn_size, num_layers, vocab)
    per_row = ACTIVATIONS_PER_LAYER.get(model, 22) * rnn_size * num_layers + ACTIVATIONS_PER_VOCAB * vocab
    parts = {
        'parameters': params * DOUBLE * PARAMETER_COPIES,
        # values and their gradients
        'activations': seq_length * batch_size * per_row * DOUBLE * 2,
        'corpus': input_bytes * (3 if needs_preprocessing else 2),
        'runtime': RUNTIME_BYTES,
    }
    parts['total'] = sum(parts.values())
    return parts


def _read_int(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except (IOError, OSError):
        return None
    return int(text) if text.isdigit() else None


def available_memory_bytes(meminfo='/proc/meminfo', cgroup='/sys/fs/cgroup'):
    """Memory a new process can take without swapping or meeting a memory limit: the kernel's
    MemAvailable, or less when this process's cgroup (a container's --memory) allows less. None when
    unknown."""
    available = None
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    available = int(line.split()[1]) * 1024
                    break
    except (IOError, OSError, ValueError, IndexError):
        pass
    limits = [
        (os.path.join(cgroup, 'memory.max'), os.path.join(cgroup, 'memory.current')),  # cgroup v2
        (os.path.join(cgroup, 'memory', 'memory.limit_in_bytes'),
         os.path.join(cgroup, 'memory', 'memory.usage_in_bytes')),  # cgroup v1
    ]
    for limit_path, usage_path in limits:
        limit, usage = _read_int(limit_path), _read_int(usage_path)
        # v1 writes a huge number for "no limit"; v2 writes "max", which is no int
        if limit is None or usage is None or limit >= 1 << 60:
            continue
        left = max(0, limit - usage)
        available = left if available is None else min(available, left)
        break
    return available


def memory_warning(estimate, available, freed=0):
    """A warning when the estimate exceeds the memory available (plus what stopping a trainer frees),
    else None."""
    if available is None:
        return None
    room = available + freed
    if estimate['total'] <= room:
        return None
    return ('the run needs about %d MiB of memory (model parameters %d MiB, activations of seq_length clones '
            'for a batch %d MiB, corpus %d MiB, th itself %d MiB) but this host has %d MiB available: the '
            'kernel may kill the trainer. Lower rnn_size, num_layers, batch_size or seq_length, train on a '
            'smaller corpus, or give the host more memory'
            % (mib_up(estimate['total']), mib_up(estimate['parameters']), mib_up(estimate['activations']),
               mib_up(estimate['corpus']), mib_up(estimate['runtime']), room // (1 << 20)))


def mib_up(nbytes):
    """Bytes in MiB, rounded up."""
    return -(-int(nbytes) // (1 << 20))


def checkpoints_to_store(flags, train_batches, keep=0):
    """How many checkpoints a run writes (keep > 0: how many are kept at once, plus one being written)."""
    iterations = int(math.floor(flag_value(flags, 'max_epochs') * train_batches))
    written = iterations // flag_value(flags, 'eval_val_every') + 1
    if keep > 0:
        return min(written, keep + 2)
    return written


def disk_space_error(checkpoint_dir_abs, flags, dataset, keep=0, margin=64 << 20, statvfs=None):
    """None when the checkpoint directory's disk has room for the run, else what to do about it."""
    probe = checkpoint_dir_abs
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        st = (statvfs or os.statvfs)(probe)
    except OSError:
        return None
    free = st.f_bavail * st.f_frsize
    each = estimate_checkpoint_bytes(flags)
    count = checkpoints_to_store(flags, dataset['train_batches'], keep)
    need = count * each + margin
    if dataset.get('needs_preprocessing'):
        need += dataset['input_bytes'] * 2
    if free >= need:
        return None
    mib = 1 << 20
    return ('not enough free disk space for checkpoints in %s: %d MiB free, the run needs about %d MiB '
            '(%d checkpoint(s) of up to %.1f MiB%s, and %d MiB of headroom): free some space, set keep '
            '(keeps the newest N checkpoints and the best), lower max_epochs or raise eval_val_every, '
            'or point checkpoint_dir at a larger disk'
            % (checkpoint_dir_abs, free // mib, -(-need // mib), count, each / float(mib),
               ' at once with keep=%d' % keep if keep > 0 else '', margin // mib))
