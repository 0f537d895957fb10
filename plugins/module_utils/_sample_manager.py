# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The sample module's work: choose a complete checkpoint, check that it loads and knows primetext's
characters, run sample.lua, and write the text to dest when it changed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import blas as _blas
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import checkpoints as _checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import probe as _probe
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import sampling as _sampling
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import screen as _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import th as _th
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import trainer as _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import options as _options


class SampleManager:
    """Runs the sample module on an AnsibleModule: SampleManager(module).run()."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.result = dict(changed=False, command=[])
        self.check_params()
        self.chdir = _paths.resolve(self.p['chdir'], os.getcwd())

    def check_params(self):
        p = self.p
        err = _options.check(
            p,
            (p['length'] < 1, 'length must be >= 1, got %d' % p['length']),
            (not p['temperature'] > 0, 'temperature must be > 0, got %s' % p['temperature']),
            (p['seed'] < 0, 'seed must be >= 0, got %d' % p['seed']))
        if err:
            self.module.fail_json(msg=err, **self.result)

    def trainer(self, checkpoint_dir, savefile, log_path):
        """The training run whose checkpoints are looked at (to tell complete ones from those being written)."""
        module = self.module
        return _trainer.Trainer(checkpoint_dir, savefile, self.p['session'], log_path,
                                screen_bin=module.get_bin_path('screen'), runner=_screen.module_runner(module))

    def run(self):
        """Sample (in check mode too: sample.lua only reads); write dest unless in check mode. Exits the module."""
        module, p, result, chdir = self.module, self.p, self.result, self.chdir
        if not os.path.isfile(os.path.join(chdir, 'sample.lua')):
            module.fail_json(msg='sample.lua not found in chdir %s: set chdir to the char-rnn checkout' % chdir,
                             **result)
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

        checkpoint = self.choose_checkpoint()
        self.check_checkpoint(th, checkpoint)
        argv = _sampling.build_sample_argv(th, checkpoint, seed=p['seed'], sample=p['sample'],
                                           primetext=p['primetext'], length=p['length'],
                                           temperature=p['temperature'], gpuid=p['gpuid'])
        result.update(command=argv, checkpoint=checkpoint)
        env = _threads.thread_env(p['threads'], core=_blas.module_core_override(module, th))
        rc, out, err_out = module.run_command(argv, cwd=chdir, environ_update=env, encoding=None)
        crash = _sampling.find_error(rc, out, err_out)
        if crash:
            msg = 'sample.lua failed (exit status %d): %s' % (rc, crash['summary'] or 'no error output')
            if p['primetext']:
                msg += ('. If the error is about an index or a nil value, a character of primetext may not be in '
                        "the model's vocabulary (the characters of the training input.txt)")
            module.fail_json(msg=msg, rc=rc, stderr_lines=crash['stderr_lines'], **result)

        text = _sampling.clean_output(out)
        result['text'] = _sampling.to_text(text)
        if dest:
            result['dest'] = dest
            changed, old = _files.write_if_changed(dest, _sampling.to_bytes(text), module.check_mode,
                                                   replace=module.atomic_move)
            if changed:
                result['changed'] = True
                if module._diff:
                    result['diff'] = {
                        'before_header': dest, 'after_header': dest,
                        'before': '' if old is None else old.decode('utf-8', 'replace'),
                        'after': result['text'],
                    }
        module.exit_json(**result)

    def pick(self, which, obs):
        """The complete checkpoint auto, latest or best names, or None."""
        complete = obs['complete']
        early = obs['training'].get('early_stop')
        if which == 'auto' and early:
            # the early stop's best (of whichever savefile the run wrote), else the best of those left
            path = _paths.resolve(early['best'], self.chdir)
            if os.path.isfile(path) and not any(e['path'] == path for e in obs['in_progress']):
                return {'path': path}
            return _checkpoints.best(complete)
        return (_checkpoints.best if which == 'best' else _checkpoints.latest)(complete)

    def choose_checkpoint(self):
        """The checkpoint to sample: a complete one, never one still being written."""
        module, p, chdir = self.module, self.p, self.chdir
        checkpoint_dir = _paths.resolve(p['checkpoint_dir'], chdir)
        log_path = _options.log_path(p, chdir, checkpoint_dir)
        if p['checkpoint'] in ('auto', 'latest', 'best'):
            obs = self.trainer(checkpoint_dir, p['savefile'], log_path).look()
            pick = self.pick(p['checkpoint'], obs)
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
        problem = _checkpoints.file_problem(path)
        if problem:
            fix = '; give a checkpoint file, or auto, latest or best' if _checkpoints.parse_name(name) is None else ''
            module.fail_json(msg='checkpoint %s %s%s' % (path, problem, fix))
        # not one still being written
        directory = os.path.dirname(path)
        info = _checkpoints.parse_name(name)
        log_path = _options.log_path(p, chdir, directory)
        obs = self.trainer(directory, info['savefile'], log_path).look()
        if any(e['path'] == path for e in obs['in_progress']):
            module.fail_json(msg='checkpoint %s is still being written by the trainer: wait for it '
                                 '(rnn_bootstrap.charrnn.checkpoint) and try again' % path)
        return path

    def check_checkpoint(self, th, checkpoint):
        """Fails clearly when the checkpoint is no char-rnn checkpoint or lacks a character of primetext."""
        primetext, result, fail = self.p['primetext'], self.result, self.module.fail_json
        rc, out, err_out, dummy = _probe.run_probe(self.module.run_command, th, self.chdir, checkpoint)
        kind, detail = _probe.parse_probe(out)
        if kind is None:
            fail(msg='th could not load checkpoint %s (exit status %d): %s'
                     % (checkpoint, rc, (err_out or out).strip()[-2000:]), **result)
        if kind == 'load_error':
            fail(msg='checkpoint %s cannot be loaded: %s. It is not a char-rnn checkpoint, it is '
                     'truncated, or it was trained on a GPU this host lacks' % (checkpoint, detail), **result)
        if kind == 'not_charrnn':
            fail(msg='%s is a Torch file but not a char-rnn checkpoint (it has no vocab and protos): '
                     'give a checkpoint that train.lua wrote' % checkpoint, **result)
        if primetext:
            missing = _sampling.missing_characters(primetext, detail)
            if missing:
                fail(msg="primetext has %d character(s) the model's vocabulary lacks: %s. The vocabulary is "
                         'the characters of the input.txt the model was trained on (%d of them); remove '
                         'these from primetext, or train on text that has them'
                         % (len(missing), ', '.join(repr(c) for c in missing), len(detail)), **result)
