# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _checkpoint_manager


class FakeTrainer:
    def __init__(self, looks):
        self.looks = list(looks)

    def look(self):
        return self.looks.pop(0)


def _obs(running, complete=()):
    return {'running': running, 'complete': list(complete), 'in_progress': [], 'training': {}, 'log_lines': []}


def test_poll_confirms_an_ended_session_before_failing():
    entry = {'path': '/cv/a.t7', 'mtime_ns': 5, 'epoch': 1.0}
    sleeps = []
    # gone, then alive again on the second look (a trainer between two execs): keep waiting
    poll = _checkpoint_manager.make_poll(FakeTrainer([_obs(False), _obs(True)]), 'first', None, {},
                                         sleeper=sleeps.append)
    assert poll() == ('wait', None) and sleeps == [_checkpoint_manager.CONFIRM_DELAY]
    # gone twice: fail
    poll = _checkpoint_manager.make_poll(FakeTrainer([_obs(False), _obs(False)]), 'first', None, {},
                                         sleeper=sleeps.append)
    assert poll() == ('fail', None)
    # gone, but the checkpoint completed as it ended: done
    last = {}
    poll = _checkpoint_manager.make_poll(FakeTrainer([_obs(False), _obs(False, [entry])]), 'first', None, last,
                                         sleeper=sleeps.append)
    assert poll() == ('done', entry) and last['obs']['complete'] == [entry]
    # wait=new ignores what is not newer than the reference
    poll = _checkpoint_manager.make_poll(FakeTrainer([_obs(True, [entry])]), 'new', dict(entry), {},
                                         sleeper=sleeps.append)
    assert poll() == ('wait', None)
