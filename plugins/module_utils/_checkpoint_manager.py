# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The checkpoint module's work: report a run's checkpoints and progress, waiting (like
ansible.builtin.wait_for) for a first or a new complete checkpoint, and failing at once, with the log's
tail, when the run has ended without it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import checkpoints as _checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import outlook as _outlook
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import progress as _progress
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import screen as _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import supervision as _supervision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import trainer as _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import options as _options
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import waiter as _waiter

CONFIRM_DELAY = 0.5

# The options the module's action plugin reads on the controller to wait in looks.
WAIT_OPTIONS = ('wait', 'timeout', 'timeout_hint', 'savefile', 'session', 'progress')


def argument_spec():
    """The checkpoint module's options; its action plugin validates WAIT_OPTIONS with the same spec."""
    return _options.argument_spec(
        savefile=True,
        checkpoint_dir=dict(type='path', required=True),
        wait=dict(type='str', default='none', choices=['none', 'first', 'new']),
        newer_than=dict(type='path'),
        timeout=dict(type='int', default=600),
        timeout_hint=dict(type='str'),
        sleep=dict(type='float', default=5),
        hourly_price=dict(type='float'),
        # Read by the action plugin on the controller, which waits in looks of progress.interval seconds.
        progress=dict(type='dict', options=dict(interval=dict(type='int', required=True),
                                                since=dict(type='float'))),
    )


def make_poll(trainer, mode, ref, last, sleeper=time.sleep):
    """poll() for _waiter.wait_for; `last` keeps the latest observation."""

    def awaited(obs):
        if mode == 'first':
            return _checkpoints.latest(obs['complete'])
        return _checkpoints.latest(_checkpoints.newer_than(obs['complete'], ref))

    def poll():
        obs = trainer.look()
        last['obs'] = obs
        if mode == 'none':
            return _waiter.DONE, None
        found = awaited(obs)
        if found is not None:
            return _waiter.DONE, found
        if not obs['running']:
            # It looks ended. Look again after a moment: a checkpoint still
            # "in progress" may have completed as the trainer exited, and a
            # trainer caught between two execs must not count as gone.
            sleeper(CONFIRM_DELAY)
            obs = trainer.look()
            last['obs'] = obs
            found = awaited(obs)
            if found is not None:
                return _waiter.DONE, found
            if not obs['running']:
                return _waiter.FAIL, None
        return _waiter.WAIT, None

    return poll


class CheckpointManager:
    """Runs the checkpoint module on an AnsibleModule: CheckpointManager(module).run(). It only reads,
    in check mode as otherwise."""

    def __init__(self, module):
        self.module = module
        self.p = p = module.params
        self.check_params()
        self.chdir = _paths.resolve(p['chdir'], os.getcwd())
        self.checkpoint_dir = checkpoint_dir = _paths.resolve(p['checkpoint_dir'], self.chdir)
        self.log_path = _options.log_path(p, self.chdir, checkpoint_dir)
        if os.path.exists(checkpoint_dir) and not os.path.isdir(checkpoint_dir):
            module.fail_json(msg='checkpoint_dir %s is not a directory' % checkpoint_dir)
        if os.path.isdir(checkpoint_dir) and not os.access(checkpoint_dir, os.R_OK | os.X_OK):
            module.fail_json(msg='checkpoint_dir %s is not readable by this user (uid %d)'
                                 % (checkpoint_dir, os.getuid()))
        self.trainer = _trainer.Trainer(checkpoint_dir, p['savefile'], p['session'], self.log_path,
                                        screen_bin=module.get_bin_path('screen'), runner=_screen.module_runner(module))
        self.result = dict(changed=False, timed_out=False, found=None)

    def check_params(self):
        p = self.p
        err = _options.check(
            p,
            (p['timeout'] < 0, 'timeout must be >= 0, got %d' % p['timeout']),
            (p['sleep'] <= 0, 'sleep must be > 0, got %s' % p['sleep']),
            (p['hourly_price'] is not None and p['hourly_price'] < 0,
             'hourly_price must be what an hour of the machine costs, 0 or more, got %s' % p['hourly_price']),
            (p['newer_than'] and p['wait'] != 'new', 'newer_than is only used with wait=new'))
        if err:
            self.module.fail_json(msg=err)

    def run(self):
        """Look, waiting as asked; exits the module."""
        p, result = self.p, self.result
        ref = self.reference() if p['wait'] == 'new' else None
        last = {}
        outcome = _waiter.wait_for(make_poll(self.trainer, p['wait'], ref, last), p['timeout'], p['sleep'])
        obs = last['obs']
        result.update(
            checkpoints=[_checkpoints.public(e) for e in obs['complete']],
            in_progress=[_checkpoints.public(e) for e in obs['in_progress']],
            latest=_checkpoints.public(_checkpoints.latest(obs['complete'])),
            best=_checkpoints.public(_checkpoints.best(obs['complete'])),
            training=obs['training'],
            elapsed=round(outcome['elapsed'], 2),
            supervision=_supervision.describe(p['session'], _screen.module_runner(self.module)),
            events=_supervision.read_events(self.trainer.log_path),
            **_outlook.outlook(obs, p['hourly_price'])
        )
        if outcome['outcome'] == _waiter.DONE:
            result['found'] = _checkpoints.public(outcome['value'])
            self.module.exit_json(**result)
        self.fail(outcome, obs)

    def reference(self):
        """For wait=new, the checkpoint to wait past: newer_than, else the latest complete one now."""
        p, result = self.p, self.result
        if p['newer_than']:
            ref_path = _paths.resolve(p['newer_than'], self.chdir)
            ref = _checkpoints.ref_from_path(ref_path)
            if ref is None:
                self.module.fail_json(msg='newer_than %s does not exist: give an existing checkpoint (or omit it '
                                          'to wait past the latest one present now)' % ref_path, **result)
            result['newer_than'] = ref_path
            return ref
        ref = _checkpoints.latest(self.trainer.look()['complete'])
        result['newer_than'] = ref['path'] if ref else None
        return ref

    def fail(self, outcome, obs):
        """The wait timed out, or the run ended (or never started) without the checkpoint."""
        p, result, fail = self.p, self.result, self.module.fail_json
        tail = _trainer.log_tail(obs)
        result['log_tail'] = tail
        what = _progress.awaited(p['wait'], p['savefile'], result.get('newer_than'))
        training_info = obs['training']
        if outcome['outcome'] == _waiter.TIMEOUT:
            result['timed_out'] = True
            fail(msg=_progress.timeout_message(what, outcome['elapsed'], training_info, p['session'], p['timeout_hint']),
                 **result)
        what += ' in %s' % self.checkpoint_dir
        if not training_info['log_exists'] and not training_info['running']:
            fail(msg="Training session '%s' is not running and its log %s does not exist, so %s "
                     "will not appear: start training with rnn_bootstrap.charrnn.train"
                     % (p['session'], self.log_path, what), **result)
        fail(msg="Training session '%s' has ended (status %s) without writing %s. Last log lines (%s):\n%s"
                 % (p['session'], training_info['status'], what, self.log_path, '\n'.join(tail)), **result)
