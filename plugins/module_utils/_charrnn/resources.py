# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""What a run needs from the host: the size of char-rnn's model and checkpoints, the memory
of a trainer and the disk its checkpoints take, against what the host has."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.flags import flag_value

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
