# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import waiter


class FakeClock:
    """A clock that only moves when the fake sleep is called."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def answers(*seq):
    it = iter(seq)
    calls = []

    def poll():
        calls.append(1)
        return next(it)
    poll.calls = calls
    return poll


def test_done_at_once_does_not_sleep():
    c = FakeClock()
    r = waiter.wait_for(answers((waiter.DONE, 'x')), timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r == {'outcome': waiter.DONE, 'value': 'x', 'elapsed': 0.0, 'polls': 1}
    assert c.sleeps == []


def test_done_after_some_polls():
    c = FakeClock()
    poll = answers((waiter.WAIT, None), (waiter.WAIT, None), (waiter.DONE, 'ckpt'))
    r = waiter.wait_for(poll, timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == waiter.DONE and r['value'] == 'ckpt'
    assert r['elapsed'] == 10 and r['polls'] == 3
    assert c.sleeps == [5, 5]


def test_fail_stops_immediately():
    c = FakeClock()
    poll = answers((waiter.WAIT, None), (waiter.FAIL, 'crashed'))
    r = waiter.wait_for(poll, timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == waiter.FAIL and r['elapsed'] == 5 and r['value'] == 'crashed'


def test_timeout_polls_once_more_at_the_deadline():
    c = FakeClock()
    seen = []

    def poll():
        seen.append(c.now)
        return waiter.WAIT, len(seen)
    r = waiter.wait_for(poll, timeout=12, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == waiter.TIMEOUT
    assert r['elapsed'] == 12
    assert c.sleeps == [5, 5, 2]  # the last sleep is clipped to the deadline
    assert seen == [1000, 1005, 1010, 1012]
    assert r['value'] == 4


def test_timeout_zero_is_one_look():
    c = FakeClock()
    r = waiter.wait_for(answers((waiter.WAIT, 'progress')), timeout=0, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r == {'outcome': waiter.TIMEOUT, 'value': 'progress', 'elapsed': 0.0, 'polls': 1}
    assert c.sleeps == []


def test_slow_poll_counts_against_timeout():
    c = FakeClock()

    def poll():
        c.now += 4  # a look that takes 4 s
        return waiter.WAIT, None
    r = waiter.wait_for(poll, timeout=10, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == waiter.TIMEOUT
    assert r['elapsed'] >= 10
    assert r['polls'] == 2


def test_bad_arguments():
    with pytest.raises(ValueError):
        waiter.wait_for(answers((waiter.DONE, None)), timeout=1, sleep=0)
    with pytest.raises(ValueError):
        waiter.wait_for(answers(('maybe', None)), timeout=1, sleep=1)
