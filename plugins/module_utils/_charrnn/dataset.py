# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""char-rnn's dataset arithmetic: how its loader splits input.txt into batches, and whether
a data directory can be trained on.

The split arithmetic follows karpathy/char-rnn at commit 6f9487a
(util/CharSplitLMMinibatchLoader.lua)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.flags import OptionError, flag_value


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
