# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The fused LSTM step's setting: CHARRNN_LSTM_STEP, which the train.lua prelude reads.

The step itself is Lua (lua/charrnn_lstm_step.lua, carried by _lua_sources): for char-rnn's LSTM on the CPU it
replaces train.lua's seq_length nngraph clones by one fused sequence, with the same model, parameters and
checkpoints; anything else trains through char-rnn's clones, and the log says why.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The environment variable the prelude reads, and its values (unset or empty: fused).
MODE_VARIABLE = 'CHARRNN_LSTM_STEP'
MODES = ('fused', 'graph')


def mode_error(environ):
    """Why the trainer would refuse the CHARRNN_LSTM_STEP it inherits from environ, or None."""
    mode = environ.get(MODE_VARIABLE)
    if not mode or mode in MODES:
        return None
    return ("%s=%r in the task's environment: it must be fused or graph (char-rnn's own clones), or unset; "
            "nothing was stopped or started" % (MODE_VARIABLE, mode))
