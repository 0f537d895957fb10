# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Checkpoints the train.lua prelude has train.lua write on request: the trainer's start and setting.

char-rnn dies at once on SIGTERM and saves only every eval_val_every iterations. The prelude
(lua/charrnn_requested_checkpoints.lua, carried by _lua_sources) has train.lua save a checkpoint when the
trainer is asked to stop, and every CHARRNN_CHECKPOINT_SECONDS of wall time; for the first it needs the stop
signals held pending in every thread of th, which is how TRAINER_EXEC starts it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The environment variable the prelude reads: seconds of wall time between requested checkpoints.
SECONDS_VARIABLE = 'CHARRNN_CHECKPOINT_SECONDS'


# Runs the trainer: python -c TRAINER_EXEC block|default <argv>. SIGHUP, SIGINT and SIGTERM get their default
# action back (the wrapper ignores them, so that it and its tee outlive a stop sent to the whole session, as a
# shutdown sends it, and log the trainer's end), and so do SIGPIPE and SIGXFSZ, which Python ignores and exec
# would hand on. With block the first three are also blocked. A blocked mask is kept across exec and
# inherited by every thread a process starts, so all of th's threads (OpenBLAS starts its own when Torch
# loads, before the prelude runs) hold them pending for the prelude instead of ending the process.
TRAINER_EXEC = ('import os, signal, sys\n'
                'stops = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)\n'
                'for signum in stops + (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores the last two\n'
                '    signal.signal(signum, signal.SIG_DFL)\n'
                'if sys.argv[1] == "block":\n'
                '    signal.pthread_sigmask(signal.SIG_BLOCK, stops)\n'
                'os.execvp(sys.argv[2], sys.argv[2:])\n')


def trainer_exec(python, block):
    """The argv prefix that runs the trainer with this Python: the stop signals blocked (block, for the
    prelude) or as char-rnn has them."""
    return [python, '-c', TRAINER_EXEC, 'block' if block else 'default']


def seconds_env(minutes):
    """The trainer's environment entry for a checkpoint every `minutes` minutes (0: none)."""
    return {SECONDS_VARIABLE: str(int(minutes) * 60)}
