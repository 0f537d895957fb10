# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""GNU screen session control and the trainer process behind it.

screen's sessions are per user (socket directory /run/screen/S-<user> or
$SCREENDIR), so everything here acts for the user the module runs as.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re
import signal
import time

# "\t12345.charrnn\t(11/29/26 17:43:18)\t(Detached)"; older screens omit the
# date.  The state is the last parenthesised field.
LS_LINE_RE = re.compile(r'^\s+(?P<pid>\d+)\.(?P<name>\S+)\s+(?:\([^)]*\)\s+)*\((?P<state>[^)]*)\)\s*$')


def parse_screen_ls(output):
    """Parse `screen -ls` output into a list of {pid, name, id, state, alive}."""
    sessions = []
    for line in output.splitlines():
        m = LS_LINE_RE.match(line)
        if not m:
            continue
        state = m.group('state')
        sessions.append({
            'pid': int(m.group('pid')),
            'name': m.group('name'),
            'id': '%s.%s' % (m.group('pid'), m.group('name')),
            'state': state,
            'alive': not state.lower().startswith('dead'),
        })
    return sessions


def module_runner(module):
    """A runner for the functions below from an AnsibleModule: (argv, env_update) -> (rc, out, err)."""

    def run(argv, env_update=None, cwd=None):
        update = {'TERM': os.environ.get('TERM') or 'xterm'}
        update.update(env_update or {})
        return module.run_command(argv, environ_update=update, cwd=cwd)
    return run


def list_sessions(screen_bin, runner):
    """Sessions of this user (screen -ls exits non-zero even when it lists some)."""
    rc, out, err = runner([screen_bin, '-ls'])
    return parse_screen_ls(out + '\n' + err)


def find_sessions(screen_bin, name, runner):
    """Sessions with exactly this name (screen allows duplicates)."""
    return [s for s in list_sessions(screen_bin, runner) if s['name'] == name]


def session_alive(screen_bin, name, runner):
    return any(s['alive'] for s in find_sessions(screen_bin, name, runner))


def start_session(screen_bin, name, argv, runner, cwd=None):
    """Start argv in a new detached screen session; returns (rc, output).

    screen -dm forks its session daemon, which closes the descriptors it
    inherited, so the call returns at once.
    """
    rc, out, err = runner([screen_bin, '-dmS', name] + list(argv), cwd=cwd)
    return rc, (out + err)


def quit_session(screen_bin, session_id, runner):
    rc, out, err = runner([screen_bin, '-S', session_id, '-X', 'quit'])
    return rc


def wipe(screen_bin, runner):
    runner([screen_bin, '-wipe'])


# ---------------------------------------------------------------- processes

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


def is_script_process(pid, script='train.lua', retries=5, pause=0.02):
    """pid is alive and its command line runs `script` (train.lua or sample.lua).

    /proc/<pid>/cmdline reads empty for a moment while a process execs (th
    is a shell wrapper that execs luajit), so an empty one is read again.
    """
    for attempt in range(retries + 1):
        if not pid_alive(pid):
            return False
        argv = cmdline(pid)
        if argv:
            return any(os.path.basename(a) == script for a in argv)
        if attempt < retries:
            time.sleep(pause)
    return False


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


def terminate(pids, grace=10.0, clock=time.time, sleeper=time.sleep, poll=0.1):
    """SIGTERM the pids, SIGKILL those still alive after `grace` seconds.

    Returns the list of pids that needed SIGKILL.
    """
    pids = [p for p in pids if pid_alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = clock() + grace
    while clock() < deadline and any(pid_alive(p) for p in pids):
        sleeper(poll)
    killed = []
    for p in pids:
        if pid_alive(p):
            try:
                os.kill(p, signal.SIGKILL)
                killed.append(p)
            except OSError:
                pass
    end = clock() + 5
    while clock() < end and any(pid_alive(p) for p in killed):
        sleeper(poll)
    return killed
