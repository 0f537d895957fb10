# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _waiter


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
    r = _waiter.wait_for(answers((_waiter.DONE, 'x')), timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r == {'outcome': _waiter.DONE, 'value': 'x', 'elapsed': 0.0, 'polls': 1}
    assert c.sleeps == []


def test_done_after_some_polls():
    c = FakeClock()
    poll = answers((_waiter.WAIT, None), (_waiter.WAIT, None), (_waiter.DONE, 'ckpt'))
    r = _waiter.wait_for(poll, timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == _waiter.DONE and r['value'] == 'ckpt'
    assert r['elapsed'] == 10 and r['polls'] == 3
    assert c.sleeps == [5, 5]


def test_fail_stops_immediately():
    c = FakeClock()
    poll = answers((_waiter.WAIT, None), (_waiter.FAIL, 'crashed'))
    r = _waiter.wait_for(poll, timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == _waiter.FAIL and r['elapsed'] == 5 and r['value'] == 'crashed'


def test_timeout_polls_once_more_at_the_deadline():
    c = FakeClock()
    seen = []

    def poll():
        seen.append(c.now)
        return _waiter.WAIT, len(seen)
    r = _waiter.wait_for(poll, timeout=12, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == _waiter.TIMEOUT
    assert r['elapsed'] == 12
    assert c.sleeps == [5, 5, 2]  # the last sleep is clipped to the deadline
    assert seen == [1000, 1005, 1010, 1012]
    assert r['value'] == 4


def test_timeout_zero_is_one_look():
    c = FakeClock()
    r = _waiter.wait_for(answers((_waiter.WAIT, 'progress')), timeout=0, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r == {'outcome': _waiter.TIMEOUT, 'value': 'progress', 'elapsed': 0.0, 'polls': 1}
    assert c.sleeps == []


def test_slow_poll_counts_against_timeout():
    c = FakeClock()

    def poll():
        c.now += 4  # a look that takes 4 s
        return _waiter.WAIT, None
    r = _waiter.wait_for(poll, timeout=10, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == _waiter.TIMEOUT
    assert r['elapsed'] >= 10
    assert r['polls'] == 2


def test_bad_arguments():
    with pytest.raises(ValueError):
        _waiter.wait_for(answers((_waiter.DONE, None)), timeout=1, sleep=0)
    with pytest.raises(ValueError):
        _waiter.wait_for(answers(('maybe', None)), timeout=1, sleep=1)
