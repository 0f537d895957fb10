# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal
import subprocess
import sys
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes


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
        assert _processes.pid_alive(proc.pid)
        assert _processes.is_script_process(proc.pid, 'train.lua')
        assert not _processes.is_script_process(proc.pid, 'sample.lua')
        assert proc.pid in _processes.descendants(os.getpid())
        killed = _processes.terminate([proc.pid], grace=5, sleeper=lambda s: (proc.poll(), time.sleep(s)))
        assert killed == []
        proc.wait(5)
        assert proc.returncode == -15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _processes.pid_alive(proc.pid)
    assert not _processes.pid_alive(0)


def test_terminate_escalates_to_sigkill(tmp_path):
    proc = _spawn(tmp_path, 'train.lua', ignore_term=True)
    try:
        start = time.time()
        killed = _processes.terminate([proc.pid], grace=0.5, sleeper=lambda s: (proc.poll(), time.sleep(s)))
        proc.wait(5)
        assert killed == [proc.pid]
        assert proc.returncode == -9
        assert time.time() - start < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_terminate_waits_its_grace_then_kills_on_the_clock_it_is_given(monkeypatch, fake_clock):
    signals = []
    monkeypatch.setattr(_processes, 'pid_alive', lambda pid: True)  # a process that shrugs off both signals
    monkeypatch.setattr(_processes.os, 'kill', lambda pid, sig: signals.append((pid, sig)))
    killed = _processes.terminate([4242], grace=10, clock=fake_clock.clock, sleeper=fake_clock.sleep, poll=0.5)
    assert killed == [4242]
    assert signals == [(4242, signal.SIGTERM), (4242, signal.SIGKILL)]
    assert fake_clock.now == 1000 + 10 + 5  # the grace, then at most five seconds for SIGKILL to land


def test_an_empty_command_line_is_read_again_for_a_moment(monkeypatch, fake_clock):
    reads = [[], [], ['/opt/torch/install/bin/luajit', 'train.lua']]
    monkeypatch.setattr(_processes, 'pid_alive', lambda pid: True)
    monkeypatch.setattr(_processes, 'cmdline', lambda pid: reads.pop(0))
    assert _processes.is_script_process(4242, 'train.lua', clock=fake_clock.clock, sleeper=fake_clock.sleep)
    assert fake_clock.sleeps == [0.02, 0.02]
    monkeypatch.setattr(_processes, 'cmdline', lambda pid: [])
    assert not _processes.is_script_process(4242, 'train.lua', clock=fake_clock.clock, sleeper=fake_clock.sleep)
