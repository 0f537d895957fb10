# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""A training run supervised by its user's systemd manager, so that it comes back after a reboot or a
crash with nobody there.

The unit is a user unit of the training user (the manager runs at boot because the user lingers), so
that the train module, which runs as that user, controls it with `systemctl --user` and needs no root.
Its one process is _supervisor, which re-runs the train module's own plan with the options the module
recorded (the same resume rules), starts the trainer in the same screen session when the plan says so,
and waits for it. The unit restarts it after a failure, with a delay and a limit.

The record of what happened to a run (starts, stops, ends, with their times) is kept beside its log, so
that status and the report can show restarts and interruptions whoever caused them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import re
import sys
import time

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files

MODES = ('auto', 'systemd', 'none')
PACKAGE = 'ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils'
SUPERVISOR_MODULE = PACKAGE + '._supervisor'
# Restarts counted within this window: a trainer that fails at once reaches the limit, one that trains
# for hours between crashes does not.
RESTART_WINDOW_SECONDS = 3600
# A systemd that knows RestartSteps= lengthens the delay after each failure up to this many times it.
RESTART_BACKOFF_FACTOR = 10
# Beyond stop_timeout: systemd kills the unit's processes only after the trainer had its time to save.
STOP_MARGIN_SECONDS = 30
EVENTS_KEPT = 200
EVENTS_SHOWN = 20


def unit_name(session):
    """The user unit of a session; screen allows '+' in session names, systemd unit names do not."""
    return 'charrnn-train-%s.service' % re.sub(r'[^A-Za-z0-9_-]', lambda m: '\\x%02x' % ord(m.group(0)), session)


def runtime_dir(uid=None, environ=None):
    environ = os.environ if environ is None else environ
    return environ.get('XDG_RUNTIME_DIR') or '/run/user/%d' % (os.getuid() if uid is None else uid)


def config_home(environ=None):
    environ = os.environ if environ is None else environ
    return environ.get('XDG_CONFIG_HOME') or os.path.join(os.path.expanduser('~'), '.config')


def data_home(environ=None):
    environ = os.environ if environ is None else environ
    return environ.get('XDG_DATA_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'share')


def unit_path(session, environ=None):
    return os.path.join(config_home(environ), 'systemd', 'user', unit_name(session))


def params_path(log_path):
    """The train module's options of a run, as the supervisor re-runs them."""
    return log_path + '.supervisor.json'


def events_path(log_path):
    return log_path + '.events'


def unavailable_reason(uid=None, environ=None, isdir=os.path.isdir, exists=os.path.exists):
    """Why this user's systemd manager cannot supervise a run here, or None when it can."""
    if not isdir('/run/systemd/system'):
        return 'systemd is not PID 1 on this host (a container without it, or another init)'
    socket = os.path.join(runtime_dir(uid, environ), 'systemd', 'private')
    if not exists(socket):
        return ('no systemd manager runs for uid %d (no %s): enable lingering for the training user as root '
                '(loginctl enable-linger USER; the char_rnn role does it) so that its manager starts at boot'
                % (os.getuid() if uid is None else uid, socket))
    return None


def mark_up(session, environ=None):
    """Notes in the runtime directory, which a reboot empties, that the session's unit has started since
    boot; returns whether it is the first time."""
    path = os.path.join(runtime_dir(environ=environ), 'charrnn-train-%s.up' % session)
    if os.path.exists(path):
        return False
    try:
        with open(path, 'w') as f:
            f.write('\n')
    except (IOError, OSError):
        pass
    return True


def exec_quote(arg):
    """One argument of ExecStart= or one Environment= assignment, as systemd parses them."""
    return '"%s"' % arg.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%').replace('$', '$$')


def unit_text(session, python, code_dir, params_file, chdir, stop_timeout, restart_limit, restart_delay,
              backoff=False):
    """The unit file of a session's run. backoff: the systemd knows RestartSteps= (version 254 and later)."""
    lines = [
        "# Written by rnn_bootstrap.charrnn's train module for screen session %s: change the run with the" % session,
        '# module (state, supervision, restart_limit, restart_delay); it rewrites this file.',
        '[Unit]',
        'Description=char-rnn training run %s (rnn_bootstrap.charrnn)' % session,
        'StartLimitIntervalSec=%d' % RESTART_WINDOW_SECONDS,
        # each start of the unit is one of its restarts, the first included
        'StartLimitBurst=%d' % (restart_limit + 1),
        '',
        '[Service]',
        'Type=simple',
        'ExecStart=%s -m %s %s' % (exec_quote(python), SUPERVISOR_MODULE, exec_quote(params_file)),
        'Environment=%s' % exec_quote('PYTHONPATH=' + code_dir),
        'Environment=PYTHONDONTWRITEBYTECODE=1',
        'Environment=PYTHONNOUSERSITE=1',
        # taken as it stands, spaces included; only specifiers are expanded
        'WorkingDirectory=%s' % chdir.replace('%', '%%'),
        'Restart=on-failure',
        'RestartSec=%d' % restart_delay,
    ]
    if backoff:
        lines += ['RestartSteps=%d' % restart_limit,
                  'RestartMaxDelaySec=%d' % (restart_delay * RESTART_BACKOFF_FACTOR)]
    lines += [
        # A stop or a shutdown sends SIGTERM to every process of the run; the trainer saves, then ends.
        'KillMode=control-group',
        'TimeoutStopSec=%d' % (stop_timeout + STOP_MARGIN_SECONDS),
        '',
        '[Install]',
        'WantedBy=default.target',
        '',
    ]
    return '\n'.join(lines)


def systemd_version(out):
    """The version number from `systemctl --version`, or 0."""
    m = re.match(r'systemd (\d+)', out or '')
    return int(m.group(1)) if m else 0


def parse_show(out):
    """`systemctl show` output as a dict."""
    props = {}
    for line in (out or '').splitlines():
        key, sep, value = line.partition('=')
        if sep:
            props[key] = value
    return props


SHOWN_PROPERTIES = ('ActiveState', 'SubState', 'Result', 'NRestarts', 'UnitFileState', 'ExecMainStatus',
                    'LoadState')


class Systemctl:
    """`systemctl --user` for this user; runner: (argv, env_update) -> (rc, out, err)."""

    def __init__(self, runner, environ=None):
        self.runner = runner
        self.env = {'XDG_RUNTIME_DIR': runtime_dir(environ=environ)}

    def __call__(self, *args):
        return self.runner(['systemctl', '--user'] + list(args), self.env)

    def checked(self, *args):
        rc, out, err = self(*args)
        if rc != 0:
            raise SupervisionError('systemctl --user %s failed (rc %d): %s' % (' '.join(args), rc, (err or out).strip()))
        return out

    def show(self, unit):
        rc, out, dummy = self('show', unit, '--property=' + ','.join(SHOWN_PROPERTIES))
        return parse_show(out) if rc == 0 else {}

    def version(self):
        rc, out, dummy = self.runner(['systemctl', '--version'], self.env)
        return systemd_version(out) if rc == 0 else 0


class SupervisionError(Exception):
    pass


def active(props):
    """The unit runs or is about to (a restart pending after a failure)."""
    return props.get('ActiveState') in ('active', 'activating', 'reloading', 'deactivating')


def supervisor_sources(modules=None):
    """{path under the package: source} of the module_utils this process loaded (from the module's payload
    when it runs as a module), the supervisor among them, so that the supervisor runs the code of the
    module that wrote its unit."""
    modules = sys.modules if modules is None else modules
    if SUPERVISOR_MODULE not in modules:
        raise SupervisionError('the supervisor (%s) must be imported before its sources are gathered' % SUPERVISOR_MODULE)
    sources = {}
    for name, mod in list(modules.items()):
        # the layers' directories are namespace packages: they have no source of their own
        if not name.startswith(PACKAGE + '._') or mod is None or hasattr(mod, '__path__'):
            continue
        loader = getattr(mod, '__loader__', None)
        source = loader.get_source(name) if loader is not None and hasattr(loader, 'get_source') else None
        if source is None:
            raise SupervisionError('cannot read the source of %s to install the supervisor' % name)
        sources[name[len(PACKAGE) + 1:].replace('.', '/') + '.py'] = source
    return sources


def install_code(base_dir, sources):
    """Writes the sources under base_dir/<digest>/<package path> unless there already; returns the
    directory to put on PYTHONPATH. A unit that an earlier version wrote keeps its own copy."""
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode('utf-8')).hexdigest()[:16]
    root = os.path.join(base_dir, digest)
    package_dir = os.path.join(root, *PACKAGE.split('.'))
    done = os.path.join(root, '.complete')
    if os.path.exists(done):
        return root
    for name, source in sorted(sources.items()):
        path = os.path.join(package_dir, *name.split('/'))
        _files.makedirs(os.path.dirname(path))
        _files.write_if_changed(path, source.encode('utf-8'), mode=0o644)
    with open(done, 'w') as f:
        f.write('\n')
    return root


def record_event(log_path, event, clock=time.time, **details):
    """Appends one event of the run (started, stopped, ended, not started) with its time; keeps the last
    EVENTS_KEPT. Never fails the caller: the record is for people, not for decisions."""
    entry = dict(details, event=event, at=time.strftime('%Y-%m-%dT%H:%M:%S%z', time.localtime(clock())))
    path = events_path(log_path)
    try:
        events = read_events(log_path, EVENTS_KEPT - 1)
        events.append(entry)
        _files.write_if_changed(path, ''.join(json.dumps(e, sort_keys=True) + '\n' for e in events).encode('utf-8'))
    except (IOError, OSError, ValueError):
        pass
    return entry


def read_events(log_path, n=EVENTS_SHOWN):
    """The last n events of the run, oldest first."""
    events = []
    try:
        with open(events_path(log_path), 'r') as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    events.append(entry)
    except (IOError, OSError):
        return []
    return events[-n:] if n else events


def describe(session, runner, environ=None):
    """What status reports of a session's supervision: whether the run comes back after a reboot, and
    the unit's state when there is one."""
    reason = unavailable_reason(environ=environ)
    path = unit_path(session, environ)
    info = {'unit': unit_name(session), 'unit_path': path, 'installed': os.path.exists(path),
            'comes_back_after_reboot': False, 'reason': reason}
    if reason:
        info['reason'] = 'the run will not come back after a restart of the host: %s' % reason
        return info
    if not info['installed']:
        info['reason'] = ('the run will not come back after a restart of the host: no unit supervises it '
                          '(train it with supervision auto or systemd)')
        return info
    props = Systemctl(runner, environ).show(unit_name(session))
    info.update(active_state=props.get('ActiveState'), sub_state=props.get('SubState'), result=props.get('Result'),
                enabled=props.get('UnitFileState') == 'enabled', restarts=_int(props.get('NRestarts')),
                exit_status=_int(props.get('ExecMainStatus')))
    info['comes_back_after_reboot'] = info['enabled']
    if not info['enabled']:
        info['reason'] = 'the unit is disabled (the run was stopped): train it again to start it'
    elif props.get('Result') == 'start-limit-hit' or props.get('ActiveState') == 'failed':
        info['reason'] = ('the unit gave up after %s restart(s) (result %s): see the run log and journalctl --user '
                          '-u %s; train it again to retry' % (info['restarts'], info['result'], info['unit']))
    return info


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# The module's environment that the trainer it starts inherits and a trainer the unit starts must get too.
RECORDED_ENV_PREFIXES = ('CHARRNN_', 'LUA_PATH', 'LUA_CPATH', 'LD_LIBRARY_PATH', 'TORCH_')


def recorded_environment(environ=None):
    environ = os.environ if environ is None else environ
    return dict((k, v) for k, v in environ.items() if k.startswith(RECORDED_ENV_PREFIXES))


class Unit:
    """A session's user unit, as the train module installs, starts and stops it."""

    def __init__(self, session, runner, environ=None):
        self.name = unit_name(session)
        self.path = unit_path(session, environ)
        self.systemctl = Systemctl(runner, environ)

    def installed(self):
        return os.path.exists(self.path)

    def props(self):
        return self.systemctl.show(self.name) if self.installed() else {}

    def stop(self, disable=False):
        """Stops the unit when it runs or is about to restart (systemctl waits while the trainer it runs
        saves); with disable, it no longer starts at boot. Returns whether anything changed."""
        props = self.props()
        if not props:
            return False
        changed = False
        if disable and props.get('UnitFileState') == 'enabled':
            self.systemctl.checked('disable', self.name)
            changed = True
        if active(props):
            self.systemctl.checked('stop', self.name)
            changed = True
        if props.get('ActiveState') == 'failed' or props.get('Result') not in (None, 'success'):
            # a new start begins with a new count of restarts
            self.systemctl('reset-failed', self.name)
        return changed

    def install(self, text):
        """Writes the unit, enables it and starts it unless it runs; returns whether anything changed."""
        _files.makedirs(os.path.dirname(self.path))
        changed = _files.write_if_changed(self.path, text.encode('utf-8'), mode=0o644)[0]
        if changed:
            self.systemctl.checked('daemon-reload')
        props = self.systemctl.show(self.name)
        if props.get('UnitFileState') != 'enabled':
            self.systemctl.checked('enable', self.name)
            changed = True
        if not active(props):
            self.systemctl('reset-failed', self.name)
            self.systemctl.checked('start', self.name)
            changed = True
        return changed

    def remove(self):
        """Disables and removes the unit (a trainer it runs goes on); returns whether it was there."""
        if not self.installed():
            return False
        if self.props().get('UnitFileState') == 'enabled':
            self.systemctl.checked('disable', self.name)
        os.unlink(self.path)
        self.systemctl.checked('daemon-reload')
        return True
