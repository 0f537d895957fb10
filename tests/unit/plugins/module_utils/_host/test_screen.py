# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import screen as _screen

LS_NEW = (
    'There are screens on:\n'
    '\t24248.charrnn\t(11/29/26 17:43:18)\t(Detached)\n'
    '\t24300.other.name\t(11/29/26 17:43:19)\t(Attached)\n'
    '\t24301.charrnn-2\t(Multi, detached)\n'
    '\t999.gone\t(Dead ???)\n'
    '4 Sockets in /run/screen/S-root.\n'
)
LS_OLD = 'There is a screen on:\n\t4711.charrnn\t(Detached)\n1 Socket in /var/run/screen/S-bob.\n'


@pytest.mark.parametrize('name,ok', [
    ('charrnn', True), ('run-2_b+c', True), ('a.b', False), ('a b', False), ('a/b', False), ('', False),
    ('x' * 81, False),
])
def test_session_names(name, ok):
    assert (_screen.check_session_name(name) is None) == ok


def test_parse_screen_ls_new_format():
    s = _screen.parse_screen_ls(LS_NEW)
    assert [(x['pid'], x['name'], x['state'], x['alive']) for x in s] == [
        (24248, 'charrnn', 'Detached', True),
        (24300, 'other.name', 'Attached', True),
        (24301, 'charrnn-2', 'Multi, detached', True),
        (999, 'gone', 'Dead ???', False),
    ]
    assert s[0]['id'] == '24248.charrnn'


def test_parse_screen_ls_old_format_and_empty():
    s = _screen.parse_screen_ls(LS_OLD)
    assert len(s) == 1 and s[0]['pid'] == 4711 and s[0]['name'] == 'charrnn'
    assert _screen.parse_screen_ls('No Sockets found in /run/screen/S-root.\n') == []


def test_find_sessions_exact_name():
    def runner(argv, env_update=None, cwd=None):
        assert argv[1] == '-ls'
        return 1, LS_NEW, ''
    assert [s['pid'] for s in _screen.find_sessions('screen', 'charrnn', runner)] == [24248]
    assert _screen.session_alive('screen', 'gone', runner) is False
    assert _screen.session_alive('screen', 'charrnn-2', runner) is True
    assert _screen.session_alive('screen', 'charr', runner) is False


def test_module_runner_and_session_commands():
    calls = []

    class Module:
        def run_command(self, argv, environ_update=None, cwd=None):
            calls.append((argv, environ_update, cwd))
            return 0, '', ''
    run = _screen.module_runner(Module())
    assert _screen.start_session('/usr/bin/screen', 's1', ['/bin/sh', '-c', 'x'], run, cwd='/opt') == (0, '')
    _screen.quit_session('/usr/bin/screen', '12.s1', run)
    assert calls[0][0] == ['/usr/bin/screen', '-dmS', 's1', '/bin/sh', '-c', 'x']
    assert calls[0][1]['TERM'] and calls[0][2] == '/opt'
    assert calls[1][0] == ['/usr/bin/screen', '-S', '12.s1', '-X', 'quit']
