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
  - O(checkpoint) is a checkpoint path or V(latest) / V(best) of O(savefile) in O(checkpoint_dir). A
    checkpoint still being written by a running trainer is never used (see
    M(rnn_bootstrap.charrnn.checkpoint) for the rule).
  - A crash of sample.lua (a Lua error, for instance a O(primetext) character that is not in the model's
    vocabulary) fails the task with the error; the output is checked for Lua errors even when C(th) exits 0.
  - The task reports a change only when O(dest) is written with new content.
version_added: 1.0.0
author:
  - rnn_bootstrap maintainers (!UNKNOWN)
options:
  checkpoint:
    description:
      - A checkpoint file (relative paths are relative to O(chdir)), or V(latest) (most recently written) or
        V(best) (lowest validation loss) of O(savefile) in O(checkpoint_dir).
    type: str
    default: latest
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

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _sampling
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _th
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _threads
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _training_run


def choose_checkpoint(module, p, chdir):
    checkpoint_dir = _paths.resolve(p['checkpoint_dir'], chdir)
    log_path = _training_run.log_path(p, chdir, checkpoint_dir)
    if p['checkpoint'] in ('latest', 'best'):
        trainer = _trainer.Trainer(checkpoint_dir, p['savefile'], p['session'], log_path,
                                     screen_bin=module.get_bin_path('screen'), runner=_screen.module_runner(module))
        obs = trainer.look()
        pick = _checkpoints.latest(obs['complete']) if p['checkpoint'] == 'latest' else _checkpoints.best(obs['complete'])
        if pick is None:
            extra = ''
            if obs['in_progress']:
                extra = ' (%d still being written)' % len(obs['in_progress'])
            elif p['checkpoint'] == 'best' and obs['complete']:
                extra = ' (all validation losses are nan/inf)'
            module.fail_json(msg="no complete checkpoint of savefile '%s' in %s%s to take as %s: train first "
                                 "(rnn_bootstrap.charrnn.train) and wait for one (rnn_bootstrap.charrnn.checkpoint)"
                                 % (p['savefile'], checkpoint_dir, extra, p['checkpoint']))
        return pick['path']
    path = _paths.resolve(p['checkpoint'], chdir)
    name = os.path.basename(path)
    if _checkpoints.parse_name(name) is None:
        module.fail_json(msg="checkpoint %s is not a char-rnn checkpoint name (lm_<savefile>_epoch<E>_<loss>.t7); "
                             "give a checkpoint file, or latest or best" % path)
    if not os.path.exists(path):
        module.fail_json(msg='checkpoint %s does not exist' % path)
    if not os.path.isfile(path):
        module.fail_json(msg='checkpoint %s is not a file' % path)
    if not os.access(path, os.R_OK):
        module.fail_json(msg='checkpoint %s is not readable by this user (uid %d)' % (path, os.getuid()))
    # not one still being written
    directory = os.path.dirname(path)
    info = _checkpoints.parse_name(name)
    log_path = _training_run.log_path(p, chdir, directory)
    trainer = _trainer.Trainer(directory, info['savefile'], p['session'], log_path,
                                 screen_bin=module.get_bin_path('screen'), runner=_screen.module_runner(module))
    obs = trainer.look()
    if any(e['path'] == path for e in obs['in_progress']):
        module.fail_json(msg='checkpoint %s is still being written by the trainer: wait for it '
                             '(rnn_bootstrap.charrnn.checkpoint) and try again' % path)
    return path


def check_checkpoint(module, th, chdir, checkpoint, primetext, result):
    """Fails clearly when the checkpoint is no char-rnn checkpoint or lacks a character of primetext."""
    rc, out, err_out, dummy = _sampling.run_probe(module.run_command, th, chdir, checkpoint)
    kind, detail = _sampling.parse_probe(out)
    if kind is None:
        module.fail_json(msg='th could not load checkpoint %s (exit status %d): %s'
                             % (checkpoint, rc, (err_out or out).strip()[-2000:]), **result)
    if kind == 'load_error':
        module.fail_json(msg='checkpoint %s cannot be loaded: %s. It is not a char-rnn checkpoint, it is '
                             'truncated, or it was trained on a GPU this host lacks' % (checkpoint, detail), **result)
    if kind == 'not_charrnn':
        module.fail_json(msg='%s is a Torch file but not a char-rnn checkpoint (it has no vocab and protos): '
                             'give a checkpoint that train.lua wrote' % checkpoint, **result)
    if primetext:
        missing = _sampling.missing_characters(primetext, detail)
        if missing:
            module.fail_json(msg="primetext has %d character(s) the model's vocabulary lacks: %s. The vocabulary is "
                                 'the characters of the input.txt the model was trained on (%d of them); remove '
                                 'these from primetext, or train on text that has them'
                                 % (len(missing), ', '.join(repr(c) for c in missing), len(detail)), **result)


def main():
    argument_spec = _training_run.argument_spec(
        savefile=True,
        torch=True,
        checkpoint=dict(type='str', default='latest'),
        checkpoint_dir=dict(type='path', default=_paths.DEFAULT_CHECKPOINT_DIR),
        length=dict(type='int', default=2000),
        temperature=dict(type='float', default=1),
        primetext=dict(type='str'),
        seed=dict(type='int', default=123),
        sample=dict(type='bool', default=True),
        dest=dict(type='path'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    result = dict(changed=False, command=[])

    err = _training_run.check(p)
    if err:
        module.fail_json(msg=err, **result)
    if p['length'] < 1:
        module.fail_json(msg='length must be >= 1, got %d' % p['length'], **result)
    if not p['temperature'] > 0:
        module.fail_json(msg='temperature must be > 0, got %s' % p['temperature'], **result)
    if p['seed'] < 0:
        module.fail_json(msg='seed must be >= 0, got %d' % p['seed'], **result)

    chdir = _paths.resolve(p['chdir'], os.getcwd())
    if not os.path.isfile(os.path.join(chdir, 'sample.lua')):
        module.fail_json(msg='sample.lua not found in chdir %s: set chdir to the char-rnn checkout' % chdir, **result)
    th, err = _th.find_th(p['th'])
    if err:
        module.fail_json(msg=err, **result)
    dest = None
    if p['dest']:
        dest = _paths.resolve(p['dest'], os.getcwd())
        if os.path.isdir(dest):
            module.fail_json(msg='dest %s is a directory: give a file path' % dest, **result)
        if not os.path.isdir(os.path.dirname(dest)):
            module.fail_json(msg='the directory of dest %s does not exist' % dest, **result)

    checkpoint = choose_checkpoint(module, p, chdir)
    check_checkpoint(module, th, chdir, checkpoint, p['primetext'], result)
    argv = _sampling.build_sample_argv(th, checkpoint, seed=p['seed'], sample=p['sample'],
                                      primetext=p['primetext'], length=p['length'],
                                      temperature=p['temperature'], gpuid=p['gpuid'])
    result.update(command=argv, checkpoint=checkpoint)
    env = _threads.thread_env(p['threads'])
    rc, out, err_out = module.run_command(argv, cwd=chdir, environ_update=env, encoding=None)
    crash = _sampling.find_error(rc, out, err_out)
    if crash:
        msg = 'sample.lua failed (exit status %d): %s' % (rc, crash['summary'] or 'no error output')
        if p['primetext']:
            msg += ('. If the error is about an index or a nil value, a character of primetext may not be in '
                    "the model's vocabulary (the characters of the training input.txt)")
        module.fail_json(msg=msg, rc=rc, stderr_lines=crash['stderr_lines'], **result)

    text = _sampling.clean_output(out)
    data = _sampling.to_bytes(text)
    result['text'] = _sampling.to_text(text)
    if dest:
        result['dest'] = dest
        old = None
        if os.path.exists(dest):
            with open(dest, 'rb') as f:
                old = f.read()
        if old != data:
            result['changed'] = True
            if module._diff:
                result['diff'] = {
                    'before_header': dest, 'after_header': dest,
                    'before': '' if old is None else old.decode('utf-8', 'replace'),
                    'after': result['text'],
                }
            if not module.check_mode:
                fd, tmp = tempfile.mkstemp(prefix='.sample-', dir=os.path.dirname(dest))
                with os.fdopen(fd, 'wb') as f:
                    f.write(data)
                module.atomic_move(tmp, dest)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
