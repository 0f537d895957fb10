# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The controller side of rnn_bootstrap.charrnn.checkpoint.

A module cannot print while it runs. With the progress option, this plugin waits from the controller,
as ansible.builtin.wait_for_connection does: it runs the module in looks of progress.interval seconds
and prints a progress line after each look that found nothing, so that a wait of an hour is one task.
Without it, the module runs once, as any module does.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import math
import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._checkpoint_manager import (
    WAIT_OPTIONS, argument_spec)
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import waiter as _waiter
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import progress as _progress

display = Display()

# The options this plugin reads, with the module's own spec; the module checks the rest.
WAIT_SPEC = dict((name, spec) for name, spec in argument_spec().items() if name in WAIT_OPTIONS)


def look_timeout(interval, remaining):
    """Seconds the next look may last: the interval, or what is left of the timeout when that is less,
    but at least one second while any is left (the module's timeout counts whole seconds)."""
    if remaining <= 0:
        return 0
    return int(min(interval, max(1, math.ceil(remaining))))


def awaited(args, result):
    return _progress.awaited(args['wait'], args['savefile'], result.get('newer_than'))


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    # Replaced by the unit tests, which wait without waiting. The wait runs on the monotonic clock; the
    # wall clock only tells how much of the timeout went by before the task (progress.since).
    clock = staticmethod(time.monotonic)
    wall_clock = staticmethod(time.time)

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        wrap_async = bool(self._task.async_val) and not getattr(self._connection, 'has_native_async', False)
        try:
            if 'progress' not in self._task.args or self._task.args['progress'] is None:
                return merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            validated = ArgumentSpecValidator(WAIT_SPEC).validate(
                dict((name, self._task.args[name]) for name in WAIT_SPEC if name in self._task.args))
            if validated.error_messages:
                return merge_hash(result, dict(failed=True, msg='; '.join(validated.error_messages)))
            if self._task.async_val:
                raise AnsibleActionFail('progress waits from the controller and cannot run async: '
                                        'leave out progress or async')
            args = validated.validated_parameters
            if args['progress']['interval'] < 1:
                return merge_hash(result, dict(failed=True, msg='progress.interval must be >= 1, got %d'
                                                                % args['progress']['interval']))
            return merge_hash(result, self._wait(args, task_vars))
        finally:
            if not wrap_async:
                # remove a temporary path we created
                self._remove_tmp_path(self._connection._shell.tmpdir)

    def _wait(self, args, task_vars):
        since = args['progress']['since']
        since_what = 'training started'
        before = 0 if since is None else self.wall_clock() - since
        if since is None:
            since_what = 'the wait started'
        timeout = args['timeout'] - before
        module_args = dict(self._task.args)
        module_args.pop('progress')
        host = task_vars.get('inventory_hostname', '-')

        if self._task.check_mode or args['wait'] == 'none':
            # One look, as the module alone does: in check mode no loop, with nothing left to print.
            module_args['timeout'] = look_timeout(args['timeout'], timeout)
            return self._execute_module(module_args=module_args, task_vars=task_vars)

        started = self.clock()

        def look():
            timed = dict(module_args, timeout=look_timeout(args['progress']['interval'],
                                                           timeout - (self.clock() - started)))
            result = self._execute_module(module_args=timed, task_vars=task_vars)
            if not (result.get('failed') and result.get('timed_out')):
                # found, or failed for good: the trainer ended, or bad input
                return (_waiter.FAIL if result.get('failed') else _waiter.DONE), result
            display.v('%s: look of %ds: %s' % (host, timed['timeout'], self._dumped(result)))
            display.display(_progress.waiting_line(host, awaited(args, result), before + self.clock() - started,
                                                   since_what, result.get('training') or {}))
            return _waiter.WAIT, result

        # Each look waits on the host for up to its own timeout, so the next one follows at once.
        outcome = _waiter.wait_for(look, timeout, args['progress']['interval'], self.clock, sleeper=lambda seconds: None)
        result = outcome['value']
        if outcome['outcome'] == _waiter.TIMEOUT:
            result['msg'] = _progress.timeout_message(awaited(args, result), args['timeout'], result.get('training') or {},
                                                      args['session'], args['timeout_hint'])
        result['elapsed'] = round(outcome['elapsed'], 2)
        return result

    @staticmethod
    def _dumped(result):
        # What the default callback shows of a result at -v: no invocation, no traceback, nothing internal.
        shown = dict((k, v) for k, v in result.items()
                     if k not in ('invocation', 'exception') and not k.startswith('_ansible'))
        return json.dumps(shown, cls=AnsibleJSONEncoder, sort_keys=True)
