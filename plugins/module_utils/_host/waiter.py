# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""A timed poll loop in the manner of ansible.builtin.wait_for, with an
injectable clock and sleep so that it can be tested without waiting."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

DONE = 'done'
FAIL = 'fail'
WAIT = 'wait'
TIMEOUT = 'timeout'


def wait_for(poll, timeout, sleep, clock=time.monotonic, sleeper=time.sleep):
    """Call poll() until it answers DONE or FAIL, or `timeout` seconds pass.

    poll() returns (outcome, value) with outcome DONE, FAIL or WAIT.  It is
    always called at least once (a timeout of 0 is a single look), and once
    more at the deadline so a result that arrived during the last sleep is
    not missed.  Returns {outcome, value, elapsed, polls}; outcome is DONE,
    FAIL or TIMEOUT (value is then the last WAIT value).
    """
    if sleep <= 0:
        raise ValueError('sleep must be > 0')
    start = clock()
    polls = 0
    while True:
        outcome, value = poll()
        polls += 1
        elapsed = clock() - start
        if outcome in (DONE, FAIL):
            return {'outcome': outcome, 'value': value, 'elapsed': elapsed, 'polls': polls}
        if outcome != WAIT:
            raise ValueError('poll() answered %r' % (outcome,))
        remaining = timeout - elapsed
        if remaining <= 0:
            return {'outcome': TIMEOUT, 'value': value, 'elapsed': elapsed, 'polls': polls}
        sleeper(min(sleep, remaining))


def wait_until(done, timeout, sleep, clock=time.monotonic, sleeper=time.sleep):
    """wait_for for a yes-or-no question: whether done() answered yes within `timeout` seconds."""
    return wait_for(lambda: (DONE if done() else WAIT, None), timeout, sleep, clock, sleeper)['outcome'] == DONE
