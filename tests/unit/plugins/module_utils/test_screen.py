# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import sys
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import screen

LS_NEW = (
    'There are screens on:\n'
    '\t24248.charrnn\t(11/29/26 17:43:18)\t(Detached)\n'
    '\t24300.other.name\t(11/29/26 17:43:19)\t(Attached)\n'
    '\t24301.charrnn-2\t(Multi, detached)\n'
    '\t999.gone\t(Dead ???)\n'
    '4 Sockets in /run/screen/S-root.\n'
)
LS_OLD = 'There is a screen on:\n\t4711.charrnn\t(Detached)\n1 Socket in /var/run/screen/S-bob.\n'


def test_parse_screen_ls_new_format():
    s = screen.parse_screen_ls(LS_NEW)
    assert [(x['pid'], x['name'], x['state'], x['alive']) for x in s] == [
        (24248, 'charrnn', 'Detached', True),
        (24300, 'other.name', 'Attached', True),
        (24301, 'charrnn-2', 'Multi, detached', True),
        (999, 'gone', 'Dead ???', False),
    ]
    assert s[0]['id'] == '24248.charrnn'


def test_parse_screen_ls_old_format_and_empty():
    s = screen.parse_screen_ls(LS_OLD)
    assert len(s) == 1 and s[0]['pid'] == 4711 and s[0]['name'] == 'charrnn'
    assert screen.parse_screen_ls('No Sockets found in /run/screen/S-root.\n') == []


def test_find_sessions_exact_name():
    def runner(argv, env_update=None, cwd=None):
        assert argv[1] == '-ls'
        return 1, LS_NEW, ''
    assert [s['pid'] for s in screen.find_sessions('screen', 'charrnn', runner)] == [24248]
    assert screen.session_alive('screen', 'gone', runner) is False
    assert screen.session_alive('screen', 'charrnn-2', runner) is True
    assert screen.session_alive('screen', 'charr', runner) is False


def test_module_runner_and_session_commands():
    calls = []

    class Module:
        def run_command(self, argv, environ_update=None, cwd=None):
            calls.append((argv, environ_update, cwd))
            return 0, '', ''
    run = screen.module_runner(Module())
    assert screen.start_session('/usr/bin/screen', 's1', ['/bin/sh', '-c', 'x'], run, cwd='/opt') == (0, '')
    screen.quit_session('/usr/bin/screen', '12.s1', run)
    assert calls[0][0] == ['/usr/bin/screen', '-dmS', 's1', '/bin/sh', '-c', 'x']
    assert calls[0][1]['TERM'] and calls[0][2] == '/opt'
    assert calls[1][0] == ['/usr/bin/screen', '-S', '12.s1', '-X', 'quit']


def _spawn(tmp_path, name, body='import time\ntime.sleep(60)\n', ignore_term=False):
    """A python process whose argv contains `name` (as char-rnn's would contain train.lua)."""
    script = tmp_path / name
    code = ''
    if ignore_term:
        code = 'import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
    script.write_text(code + 'open(%r, "w").close()\n' % str(tmp_path / (name + '.up')) + body)
    proc = subprocess.Popen([sys.executable, str(script)])
    for dummy in range(100):
        if (tmp_path / (name + '.up')).exists():
            break
        time.sleep(0.02)
    return proc


def test_process_helpers_and_terminate(tmp_path):
    proc = _spawn(tmp_path, 'train.lua')
    try:
        assert screen.pid_alive(proc.pid)
        assert screen.is_script_process(proc.pid, 'train.lua')
        assert not screen.is_script_process(proc.pid, 'sample.lua')
        assert proc.pid in screen.descendants(os.getpid())
        killed = screen.terminate([proc.pid], grace=5, sleeper=lambda s: (proc.poll(), time.sleep(s)))
        assert killed == []
        proc.wait(5)
        assert proc.returncode == -15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not screen.pid_alive(proc.pid)
    assert not screen.pid_alive(0)


def test_terminate_escalates_to_sigkill(tmp_path):
    proc = _spawn(tmp_path, 'train.lua', ignore_term=True)
    try:
        start = time.time()
        killed = screen.terminate([proc.pid], grace=0.5, sleeper=lambda s: (proc.poll(), time.sleep(s)))
        proc.wait(5)
        assert killed == [proc.pid]
        assert proc.returncode == -9
        assert time.time() - start < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
