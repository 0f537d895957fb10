# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The options of a training run that the train, checkpoint and sample modules share.

    Their argument spec is module_utils/_run/options.py's argument_spec(); a module may describe an
    option in its own words, its type and default come from here.
    """

    DOCUMENTATION = r'''
options:
  chdir:
    description:
      - The char-rnn checkout. Relative paths of the other options are relative to it.
    type: path
    default: /opt/rnn-karpathy
  session:
    description:
      - The screen session of the training run.
    type: str
    default: charrnn
  log_path:
    description:
      - The training log. Default V(<checkpoint_dir>/train-<session>.log), the rule of
        M(rnn_bootstrap.charrnn.train).
    type: path
'''

    # The savefile whose checkpoints a module reads (argument_spec(savefile=True)).
    SAVEFILE = r'''
options:
  savefile:
    description:
      - The C(savefile) of the run (train.lua's C(-savefile)).
    type: str
    default: lstm
'''

    # The Torch process a module runs (argument_spec(torch=True)).
    TORCH = r'''
options:
  th:
    description:
      - Path of the C(th) executable.
      - Default C(th) on E(PATH), else V(/opt/torch/bin/th) or V(/opt/torch/install/bin/th).
    type: path
  gpuid:
    description:
      - Passed as C(-gpuid). V(-1) computes on the CPU (char-rnn's own default is V(0)).
    type: int
    default: -1
  threads:
    description:
      - OpenBLAS threads (C(OPENBLAS_NUM_THREADS)); default the number of CPUs the task may run on.
    type: int
'''
