# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Processes as /proc shows them: alive or not, what they run, their children, ending them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import signal
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import waiter as _waiter


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        if e.errno == errno.EPERM:
            return True
        return False
    try:
        with open('/proc/%d/stat' % pid, 'r') as f:
            stat = f.read()
        state = stat.rsplit(')', 1)[1].split()[0]
        if state in ('Z', 'X'):
            return False
    except (IOError, OSError, IndexError):
        pass
    return True


def resident_bytes(pid):
    """Resident memory of a process (VmRSS), 0 when unknown."""
    try:
        with open('/proc/%d/status' % pid, 'r') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except (IOError, OSError, ValueError, IndexError):
        pass
    return 0


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            data = f.read()
    except (IOError, OSError):
        return []
    return [a.decode('utf-8', 'replace') for a in data.split(b'\0') if a]


def is_script_process(pid, script='train.lua', patience=0.1, pause=0.02, clock=time.monotonic, sleeper=time.sleep):
    """pid is alive and its command line runs `script` (train.lua or sample.lua).

    /proc/<pid>/cmdline reads empty for a moment while a process execs (th
    is a shell wrapper that execs luajit), so an empty one is read again for
    up to `patience` seconds.
    """
    def look():
        if not pid_alive(pid):
            return _waiter.DONE, False
        argv = cmdline(pid)
        if argv:
            return _waiter.DONE, any(os.path.basename(a) == script for a in argv)
        return _waiter.WAIT, False

    return _waiter.wait_for(look, patience, pause, clock, sleeper)['value']


def _ppid_map():
    result = {}
    try:
        names = os.listdir('/proc')
    except OSError:
        return result
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, 'r') as f:
                stat = f.read()
            result[int(name)] = int(stat.rsplit(')', 1)[1].split()[1])
        except (IOError, OSError, IndexError, ValueError):
            continue
    return result


def descendants(pid):
    """All descendant pids of pid (from /proc)."""
    ppids = _ppid_map()
    children = {}
    for child, parent in ppids.items():
        children.setdefault(parent, []).append(child)
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def trainer_pids_under(screen_pid, script='train.lua'):
    return [p for p in descendants(screen_pid) if is_script_process(p, script)]


def terminate(pids, grace=10.0, clock=time.monotonic, sleeper=time.sleep, poll=0.1):
    """SIGTERM the pids, SIGKILL those still alive after `grace` seconds.

    Returns the list of pids that needed SIGKILL.
    """
    pids = [p for p in pids if pid_alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    _waiter.wait_until(lambda: not any(pid_alive(p) for p in pids), grace, poll, clock, sleeper)
    killed = []
    for p in pids:
        if pid_alive(p):
            try:
                os.kill(p, signal.SIGKILL)
                killed.append(p)
            except OSError:
                pass
    _waiter.wait_until(lambda: not any(pid_alive(p) for p in killed), 5, poll, clock, sleeper)
    return killed
