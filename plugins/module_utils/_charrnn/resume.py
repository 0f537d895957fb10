# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Whether a checkpoint can be continued as the run asked for.

train.lua (commit 6f9487a) with -init_from asserts that the dataset's vocabulary equals the
checkpoint's (line 137: both are char -> index mappings built from the sorted set of the bytes of an
input.txt, so they are equal exactly when the two byte sets are), then silently takes rnn_size,
num_layers and model from the checkpoint ("overwriting ... based on the checkpoint.").
CharSplitLMMinibatchLoader reads the vocabulary from data_dir/vocab.t7, unless vocab.t7 or data.t7 is
missing or older than input.txt; then it builds it again from input.txt.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import flags as _flags

# The flags train.lua takes from the checkpoint on -init_from, in the order it prints them.
ARCHITECTURE_FLAGS = ('rnn_size', 'num_layers', 'model')
SHOWN_CHARACTERS = 12


def input_vocabulary(input_txt, chunk_bytes=1 << 24):
    """The set of byte values of a file: char-rnn's vocabulary of it. Reads in chunks; only bytes not
    seen yet are looked at one by one, so a large corpus costs about one read."""
    seen = set()
    with open(input_txt, 'rb') as f:
        while True:
            chunk = f.read(chunk_bytes)
            if not chunk:
                break
            new = chunk.translate(None, bytes(bytearray(sorted(seen)))) if seen else chunk
            if new:
                seen.update(bytearray(new))
    return seen


def show_bytes(values, limit=SHOWN_CHARACTERS):
    """Some byte values as a person reads them: 'a', '\\n', 0xc3 ..."""
    shown = []
    for value in sorted(values)[:limit]:
        if 32 <= value < 127:
            shown.append(repr(chr(value)))
        elif value in (9, 10, 13):
            shown.append(repr(chr(value)))
        else:
            shown.append('0x%02x' % value)
    if len(values) > limit:
        shown.append('and %d more' % (len(values) - limit))
    return ', '.join(shown)


def vocabulary_difference(checkpoint_vocab, dataset_vocab, dataset_shown):
    """None when train.lua accepts the dataset for the checkpoint, else what differs."""
    if checkpoint_vocab == dataset_vocab:
        return None
    parts = []
    extra = dataset_vocab - checkpoint_vocab
    missing = checkpoint_vocab - dataset_vocab
    if extra:
        parts.append('has %d the checkpoint lacks (%s)' % (len(extra), show_bytes(extra)))
    if missing:
        parts.append('lacks %d the checkpoint has (%s)' % (len(missing), show_bytes(missing)))
    return ('vocabulary: %s has %d characters, the checkpoint %d; the dataset %s'
            % (dataset_shown, len(dataset_vocab), len(checkpoint_vocab), ' and '.join(parts)))


def architecture_differences(checkpoint_model, flags):
    """What the options ask for that train.lua would replace with the checkpoint's model.

    Only flags given in the options count: a flag left out asks for nothing, and train.lua
    continues the checkpoint's model as it is.
    """
    found = []
    for name in ARCHITECTURE_FLAGS:
        if name not in flags:
            continue
        have = (checkpoint_model or {}).get(name)
        if have is None or have != flags[name]:
            found.append('%s: %s asked, the checkpoint has %s'
                         % (name, _flags.format_value(flags[name]), 'none' if have is None else have))
    return found


def differences(probe, dataset_vocab, flags, dataset_shown='the dataset'):
    """Why train.lua cannot continue the probed checkpoint as asked (a list; empty when it can).

    probe is _probe.parse_probe_output() of the checkpoint; dataset_vocab the set of byte values
    train.lua's loader will use.
    """
    kind = probe.get('kind')
    if kind == 'load_error':
        return ['it cannot be loaded (%s)' % probe.get('detail')]
    if kind == 'not_charrnn':
        return ['it is a Torch file but not a char-rnn checkpoint']
    found = []
    vocab = vocabulary_difference(probe.get('vocab') or set(), dataset_vocab, dataset_shown)
    if vocab:
        found.append(vocab)
    found.extend(architecture_differences(probe.get('model'), flags))
    return found


def effective_model(flags, probe=None):
    """(model, rnn_size, num_layers) the trainer will train: the checkpoint's when it resumes."""
    model = dict((name, _flags.flag_value(flags, name)) for name in ARCHITECTURE_FLAGS)
    for name, value in ((probe or {}).get('model') or {}).items():
        if value is not None:
            model[name] = value
    return model
