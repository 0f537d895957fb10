#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: sample
short_description: Generate text from a char-rnn checkpoint with sample.lua
description:
  - Runs C(th sample.lua <checkpoint>) in char-rnn's directory (a plain process, not under screen) with
    C(-verbose 0) and returns the generated text, without sample.lua's diagnostic lines. The text starts
    with O(primetext) when one is given, as sample.lua prints it.
  - O(checkpoint) is a checkpoint path or V(auto) / V(latest) / V(best) of O(savefile) in O(checkpoint_dir). A
    checkpoint still being written by a running trainer is never used (see
    M(rnn_bootstrap.charrnn.checkpoint) for the rule).
  - A crash of sample.lua (a Lua error, for instance a O(primetext) character that is not in the model's
    vocabulary) fails the task with the error; the output is checked for Lua errors even when C(th) exits 0.
  - The task reports a change only when O(dest) is written with new content.
  - sample.lua gets C(OPENBLAS_CORETYPE) when OpenBLAS fell back to kernels older than the CPU, as the
    trainer does (see M(rnn_bootstrap.charrnn.train)); an C(OPENBLAS_CORETYPE) in the task's C(environment)
    wins.
version_added: 1.0.0
author:
  - rnn_bootstrap maintainers (!UNKNOWN)
options:
  checkpoint:
    description:
      - A checkpoint file (relative paths are relative to O(chdir)), or V(latest) (most recently written) or
        V(best) (lowest validation loss) of O(savefile) in O(checkpoint_dir).
      - V(auto) is V(best) when early stopping ended the run (the train module's
        O(rnn_bootstrap.charrnn.train#module:patience)), the checkpoint its decision names while it is there, and
        V(latest) otherwise.
    type: str
    default: auto
  checkpoint_dir:
    description:
      - Where to look for V(latest) and V(best). A relative path is relative to O(chdir).
    type: path
    default: cv
  chdir:
    description:
      - The char-rnn checkout (sample.lua runs from here).
  savefile:
    description:
      - The savefile whose checkpoints V(latest) and V(best) choose from.
  th:
    description:
      - Path of the C(th) executable. Default C(th) on E(PATH), else V(/opt/torch/bin/th) or
        V(/opt/torch/install/bin/th).
  length:
    description:
      - Number of characters to sample (C(-length)).
    type: int
    default: 2000
  temperature:
    description:
      - Sampling temperature (C(-temperature)), greater than 0. Lower is more conservative.
    type: float
    default: 1
  primetext:
    description:
      - Text to prime the network with (C(-primetext)). Every character must be in the model's vocabulary.
    type: str
  seed:
    description:
      - Random seed (C(-seed)).
    type: int
    default: 123
  sample:
    description:
      - V(true) samples each character; V(false) takes the most likely one (argmax, C(-sample 0)).
    type: bool
    default: true
  gpuid:
    description:
      - C(-gpuid); V(-1) samples on the CPU (sample.lua's own default is V(0)).
  threads:
    description:
      - OpenBLAS threads (C(OPENBLAS_NUM_THREADS)); default the number of CPUs the task may run on.
        OpenMP gets one thread (C(OMP_NUM_THREADS=1), C(OMP_WAIT_POLICY=PASSIVE)), as in
        M(rnn_bootstrap.charrnn.train).
  dest:
    description:
      - A file to write the generated text to (the exact bytes sample.lua wrote, without its final newline).
        Its directory must exist.
    type: path
extends_documentation_fragment:
  - rnn_bootstrap.charrnn.attributes
  - rnn_bootstrap.charrnn.training_run
  - rnn_bootstrap.charrnn.training_run.savefile
  - rnn_bootstrap.charrnn.training_run.torch
attributes:
  check_mode:
    support: full
    details:
      - sample.lua only reads, so it also runs in check mode and RV(text) is returned; O(dest) is not written,
        the task reports whether it would change.
  diff_mode:
    support: full
    details: Shows the change to O(dest).
seealso:
  - module: rnn_bootstrap.charrnn.train
  - module: rnn_bootstrap.charrnn.checkpoint
'''

EXAMPLES = r'''
- name: Sample 500 characters from the latest checkpoint
  rnn_bootstrap.charrnn.sample:
    length: 500
  register: generated

- name: Show them
  ansible.builtin.debug:
    var: generated.text

- name: Write a conservative sample of the best checkpoint to a file
  rnn_bootstrap.charrnn.sample:
    checkpoint: best
    checkpoint_dir: /opt/rnn-karpathy/cv
    primetext: "ROMEO:"
    temperature: 0.5
    dest: /tmp/romeo.txt
'''

RETURN = r'''
text:
  description:
    - The generated text (primetext included), without diagnostics or the final newline. Bytes that are not
      UTF-8 are shown as U+FFFD.
  returned: success
  type: str
  sample: "ROMEO:\nWhat say you to my son?"
checkpoint:
  description: Absolute path of the checkpoint used.
  returned: success
  type: str
  sample: /opt/rnn-karpathy/cv/lm_lstm_epoch2.00_1.5123.t7
command:
  description: The sample.lua argv.
  returned: always
  type: list
  elements: str
  sample: [/opt/torch/bin/th, sample.lua, /opt/rnn-karpathy/cv/lm_lstm_epoch2.00_1.5123.t7, -seed, "123"]
dest:
  description: The file written (or that would be written in check mode).
  returned: when O(dest) is set
  type: str
stderr_lines:
  description: sample.lua's error output, on failure.
  returned: failure of sample.lua
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import options as _options
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._sample_manager import SampleManager


def main():
    argument_spec = _options.argument_spec(
        savefile=True,
        torch=True,
        checkpoint=dict(type='str', default='auto'),
        checkpoint_dir=dict(type='path', default=_paths.DEFAULT_CHECKPOINT_DIR),
        length=dict(type='int', default=2000),
        temperature=dict(type='float', default=1),
        primetext=dict(type='str'),
        seed=dict(type='int', default=123),
        sample=dict(type='bool', default=True),
        dest=dict(type='path'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    SampleManager(module).run()


if __name__ == '__main__':
    main()
