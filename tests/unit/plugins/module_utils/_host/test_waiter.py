# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import waiter as _waiter


def answers(*seq):
    it = iter(seq)
    calls = []

    def poll():
        calls.append(1)
        return next(it)
    poll.calls = calls
    return poll


def test_done_at_once_does_not_sleep(fake_clock):
    c = fake_clock
    r = _waiter.wait_for(answers((_waiter.DONE, 'x')), timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r == {'outcome': _waiter.DONE, 'value': 'x', 'elapsed': 0.0, 'polls': 1}
    assert c.sleeps == []


def test_done_after_some_polls(fake_clock):
    c = fake_clock
    poll = answers((_waiter.WAIT, None), (_waiter.WAIT, None), (_waiter.DONE, 'ckpt'))
    r = _waiter.wait_for(poll, timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == _waiter.DONE and r['value'] == 'ckpt'
    assert r['elapsed'] == 10 and r['polls'] == 3
    assert c.sleeps == [5, 5]


def test_fail_stops_immediately(fake_clock):
    c = fake_clock
    poll = answers((_waiter.WAIT, None), (_waiter.FAIL, 'crashed'))
    r = _waiter.wait_for(poll, timeout=600, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r['outcome'] == _waiter.FAIL and r['elapsed'] == 5 and r['value'] == 'crashed'


def test_timeout_polls_once_more_at_the_deadline(fake_clock):
    c = fake_clock
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


def test_timeout_zero_is_one_look(fake_clock):
    c = fake_clock
    r = _waiter.wait_for(answers((_waiter.WAIT, 'progress')), timeout=0, sleep=5, clock=c.clock, sleeper=c.sleep)
    assert r == {'outcome': _waiter.TIMEOUT, 'value': 'progress', 'elapsed': 0.0, 'polls': 1}
    assert c.sleeps == []


def test_slow_poll_counts_against_timeout(fake_clock):
    c = fake_clock

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


def test_wait_until_answers_whether_it_came_in_time(fake_clock):
    c = fake_clock
    answers_ = iter([False, False, True])
    assert _waiter.wait_until(lambda: next(answers_), timeout=10, sleep=0.5, clock=c.clock, sleeper=c.sleep) is True
    assert c.sleeps == [0.5, 0.5]
    assert _waiter.wait_until(lambda: False, timeout=2, sleep=0.5, clock=c.clock, sleeper=c.sleep) is False
    assert c.now == 1003
