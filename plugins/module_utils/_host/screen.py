# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""GNU screen sessions: their names, listing, starting and quitting them.

screen's sessions are per user (socket directory /run/screen/S-<user> or
$SCREENDIR), so everything here acts for the user the module runs as."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

DEFAULT_SESSION = 'charrnn'
SESSION_RE = re.compile(r'^[A-Za-z0-9_+-][A-Za-z0-9_+-]{0,79}$')
# "\t12345.charrnn\t(11/29/26 17:43:18)\t(Detached)"; older screens omit the
# date.  The state is the last parenthesised field.
LS_LINE_RE = re.compile(r'^\s+(?P<pid>\d+)\.(?P<name>\S+)\s+(?:\([^)]*\)\s+)*\((?P<state>[^)]*)\)\s*$')


def check_session_name(session):
    """Return an error message for an unusable screen session name, else None."""
    if not isinstance(session, str) or not SESSION_RE.match(session):
        return ("session %r is not a usable screen session name: use 1-80 letters, digits, "
                "'_', '+' or '-' (no dots, spaces or slashes)" % (session,))
    return None


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
