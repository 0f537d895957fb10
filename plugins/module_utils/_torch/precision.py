# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The precision char-rnn's train.lua computes in, and the train.lua prelude that sets it.

train.lua never sets a tensor type, so on the CPU it computes in Torch's default, double. For float the
train module writes the prelude (lua/charrnn_prelude.lua, carried by _lua_sources) next to the run's log and
has th run it in place of train.lua: it sets the default tensor type, trains char-rnn's LSTM through the
fused step (lua/charrnn_lstm_step.lua), has train.lua save a checkpoint when asked to stop and every so often
(lua/charrnn_requested_checkpoints.lua), then runs train.lua unchanged. Checkpoints stay in char-rnn's CPU
format (double) whatever the precision.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import lua_sources as _lua_sources

PRECISIONS = ('float', 'double')
DEFAULT_PRECISION = 'float'
# char-rnn's own behaviour needs no prelude: train.lua runs as it always did.
NATIVE_PRECISION = 'double'

PRELUDE_SUFFIX = '.prelude.lua'
# What releases up to 1.0.0 called the prelude, next to the log: a trainer they started still runs with it.
FORMER_SUFFIX = '.launcher.lua'
PRELUDE_MARKER = 'rnn_bootstrap.charrnn train.lua prelude'

# The Lua modules the prelude requires, preloaded in its own file so that the host needs nothing else.
PRELOADED = (('charrnn_lstm_step', _lua_sources.LSTM_STEP_LUA),
             ('charrnn_requested_checkpoints', _lua_sources.REQUESTED_CHECKPOINTS_LUA))


def _prelude_script():
    """The file the train module writes: the marker, the preloaded modules, then the prelude itself."""
    parts = ['-- ' + PRELUDE_MARKER + ': written by the rnn_bootstrap.charrnn.train module, which\n',
             '-- rewrites it when it differs; edits are lost.\n']
    for name, source in PRELOADED:
        parts.extend(["package.preload['", name, "'] = function(...)\n", source, 'end\n'])
    parts.append(_lua_sources.PRELUDE_LUA)
    return ''.join(parts)


# th <prelude> float|double <train.lua> [train.lua flags]
PRELUDE_SCRIPT = _prelude_script()


class PrecisionError(ValueError):
    """An unknown precision; the message says what to use."""


def check_precision(precision):
    """The precision, or PrecisionError naming the choices."""
    if precision not in PRECISIONS:
        raise PrecisionError("precision must be one of %s (float computes faster; checkpoints are char-rnn's "
                             "double format either way), got %r" % (', '.join(PRECISIONS), precision))
    return precision


def prelude_path(log_path):
    """Where the train module keeps the prelude of a run: next to the run's log, state and pid files."""
    return log_path + PRELUDE_SUFFIX


def forget_former(log_path):
    """Remove the prelude a release up to 1.0.0 kept next to the log (as its launcher), once the run's
    command no longer names it; a trainer still running from it read it whole when it started."""
    try:
        os.unlink(log_path + FORMER_SUFFIX)
    except OSError:
        pass


def needs_prelude(precision):
    return check_precision(precision) != NATIVE_PRECISION


def trainer_argv(train_argv, precision, prelude):
    """The argv that runs `th train.lua <flags>` (train_argv) in this precision.

    double is char-rnn's own behaviour: train_argv unchanged. float puts the prelude and the precision
    between th and train.lua; train.lua still appears by name, so the trainer is recognised as before.
    """
    if not needs_prelude(precision):
        return list(train_argv)
    if not prelude:
        raise PrecisionError('precision %s needs the prelude path' % precision)
    return [train_argv[0], prelude, precision] + list(train_argv[1:])


def precision_of(argv):
    """The precision a recorded trainer argv computes in (None when it is not a train.lua command).

    A trainer started by a release up to 1.0.0 runs its prelude from the former file name.
    """
    argv = list(argv or [])
    if (len(argv) >= 4 and argv[1].endswith((PRELUDE_SUFFIX, FORMER_SUFFIX)) and argv[2] in PRECISIONS
            and os.path.basename(argv[3]) == 'train.lua'):
        return argv[2]
    if len(argv) >= 2 and os.path.basename(argv[1]) == 'train.lua':
        return NATIVE_PRECISION
    return None


def install_prelude(path, opener=None):
    """Write the prelude to path unless it already holds exactly this text; returns whether it wrote.

    Replaced whole (see _files.write_if_changed), so that a trainer starting meanwhile reads either the
    old text or the new, never half of one. World-readable: the training user may differ from whoever
    reads the command later.
    """
    changed, dummy = _files.write_if_changed(path, PRELUDE_SCRIPT.encode('utf-8'), mode=0o644, opener=opener)
    return changed


def native_argv(argv):
    """A trainer argv without the prelude: `th train.lua <flags>` whatever the precision."""
    argv = list(argv or [])
    if precision_of(argv) is not None and argv[1].endswith((PRELUDE_SUFFIX, FORMER_SUFFIX)):
        return [argv[0]] + argv[3:]
    return argv


def current_argv(argv):
    """A recorded trainer argv as this version writes it: a prelude started under its former file name is named
    as now, so that a run started before the rename compares equal to the same run asked for today."""
    argv = list(argv or [])
    if len(argv) >= 4 and argv[1].endswith(FORMER_SUFFIX) and precision_of(argv) is not None:
        argv[1] = argv[1][:-len(FORMER_SUFFIX)] + PRELUDE_SUFFIX
    return argv


def difference(recorded_argv, precision):
    """A phrase saying how the precision of a recorded trainer differs from the one asked for, or None."""
    recorded = precision_of(recorded_argv)
    if recorded is None or recorded == precision:
        return None
    return 'it computes in %s, %s was asked for' % (recorded, precision)
