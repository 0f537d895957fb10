# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The notifier: runs a command of the user's when a run starts or resumes, stalls, or ends (finished,
stopped, interrupted by the cloud, crashed), so that someone hears about a run nobody watches. A run that early stopping ended is finished.

It runs beside the trainer in its screen session (see _wrapper), with the Python the train module runs on:
`watch` while the trainer lives (started or resumed at once, then stalled when the log has not grown for a
while), `end` once the wrapper has logged the trainer's exit. The command runs with /bin/sh as the training
user, with CHARRNN_EVENT, CHARRNN_MESSAGE, CHARRNN_SESSION, CHARRNN_HOST and CHARRNN_LOG in its environment
and the same as a JSON object on its standard input; what it says and its failures go to the run's log.
The command may carry a secret (a webhook's token): it is kept in a file only the training user reads
(command_path), never on a command line.

The log's formats stay in _charrnn.log: the module hands the notifier its patterns (log_patterns).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log

EVENTS = ('started', 'resumed', 'stalled', 'finished', 'stopped', 'interrupted', 'crashed')
# How often the notifier looks at the log while the trainer runs.
LOOK_SECONDS = 15
COMMAND_TIMEOUT = 60

# python -c NOTIFIER_CODE watch|end <command file> <session> <log> <pid file> <stall seconds> <look seconds>
#   <patterns JSON> [<checkpoint resumed from>]
NOTIFIER_CODE = r'''
import json, os, re, socket, subprocess, sys, time
mode, command_file, session, log_path, pid_file, stall, look, patterns = sys.argv[1:9]
resumed_from = sys.argv[9] if len(sys.argv) > 9 else ''
stall, look, p = float(stall), float(look), json.loads(patterns)
with open(command_file) as f:
    command = f.read()


def log(text):
    with open(log_path, 'a') as f:
        f.write('[charrnn] notify: %s\n' % text)


def notify(event, message):
    info = {'event': event, 'message': message, 'session': session, 'host': socket.gethostname(),
            'log': log_path}
    env = dict(os.environ, **dict(('CHARRNN_' + k.upper(), v) for k, v in info.items()))
    try:
        proc = subprocess.Popen(['/bin/sh', '-c', command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
        out = proc.communicate(json.dumps(info).encode('utf-8'), timeout=COMMAND_TIMEOUT)[0]
        said = out.decode('utf-8', 'replace').strip()[-500:]
        log('%s (%s): command exited %d%s' % (event, message, proc.returncode, ': ' + said if said else ''))
    except Exception as e:
        log('%s (%s): command failed: %s' % (event, message, e))


def clean(line):
    return re.sub(p['ansi'], '', line).split('\r')[-1].rstrip()


def run_lines():
    with open(log_path, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    lines = text.split('\n')
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(p['marker']):
            lines = lines[i + 1:]
            break
    return [clean(line) for line in lines]


def ending(lines):
    status = iteration = total = stopped = notice = trouble = early = None
    for line in lines:
        m = re.match(p['early_stop'], line)
        if m:
            early = m
        m = re.match(p['end'], line)
        if m:
            status = int(m.group(1))
        m = re.match(p['iteration'], line, re.IGNORECASE)
        if m:
            iteration, total = int(m.group('it')), int(m.group('total'))
        m = re.match(p['stopped'], line)
        if m:
            stopped = m.group('signal')
        m = re.match(p['interruption'], line)
        if m:
            notice = m.group('notice')
        if line.startswith(p['nan']) or line == p['exploding'] or re.match(p['error'], line):
            trouble = trouble or line
    where = 'at iteration %s of %s' % (iteration, total)
    if early and status in (0, 143) and not trouble:
        return 'finished', 'stopped early at iteration %s of %s, best checkpoint %s: %s' % (
            early.group('iteration'), total, early.group('best'), early.group('reason'))
    if status in (137, 143) and not trouble:
        return 'stopped', 'killed (exit status %d) %s, without a checkpoint' % (status, where)
    if trouble or status not in (0, None):
        return 'crashed', 'exit status %s %s: %s' % (status, where, trouble or 'see the log')
    if notice:
        return 'interrupted', '%s; stopped %s' % (notice, where)
    if stopped:
        return 'stopped', 'stopped on %s %s, after a checkpoint' % (stopped, where)
    if iteration is not None and iteration == total:
        return 'finished', 'trained all %s iterations' % total
    return 'stopped', 'exit status %s %s' % (status, where)


def alive():
    try:
        with open(pid_file) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (IOError, OSError, ValueError):
        return False


if mode == 'end':
    notify(*ending(run_lines()))
    sys.exit(0)
if resumed_from:
    notify('resumed', 'resumed from %s' % resumed_from)
else:
    notify('started', 'training from scratch')
size, since, stalled = -1, time.time(), False
time.sleep(look)
while alive():
    now_size = os.path.getsize(log_path)
    if now_size != size:
        size, since, stalled = now_size, time.time(), False
    elif stall > 0 and not stalled and time.time() - since >= stall:
        notify('stalled', 'no output for %d minutes' % ((time.time() - since) // 60))
        size, stalled = os.path.getsize(log_path), True
    time.sleep(look)
'''.replace('COMMAND_TIMEOUT', str(COMMAND_TIMEOUT))


def log_patterns():
    """The log formats the notifier reads, from _charrnn.log."""
    return json.dumps({
        'ansi': _log.ANSI_RE.pattern, 'marker': _log.RUN_MARKER, 'end': _log.RUN_END_RE.pattern,
        'iteration': _log.ITER_RE.pattern, 'stopped': _log.STOPPED_RE.pattern,
        'interruption': _log.INTERRUPTION_RE.pattern, 'nan': _log.NAN_PREFIX,
        'exploding': _log.EXPLODING, 'error': _log.LUA_ERROR_RE.pattern, 'early_stop': _log.EARLY_STOP_RE.pattern,
    }, sort_keys=True)


def command_path(log_path):
    """Where the train module keeps the notify command of a run: next to its log, readable by its user only."""
    return log_path + '.notify'


def write_command(log_path, command):
    """Keep the command for the notifier (mode 0600); returns its path."""
    path = command_path(log_path)
    _files.write_if_changed(path, command.encode('utf-8'), mode=0o600)
    return path


def read_command(log_path):
    """The command write_command kept, or '' when there is none."""
    try:
        with open(command_path(log_path), 'rb') as f:
            return f.read().decode('utf-8')
    except (IOError, OSError):
        return ''


def forget_command(log_path):
    """Remove a command an earlier run kept, which may carry a secret nothing needs any more."""
    try:
        os.unlink(command_path(log_path))
    except OSError:
        pass


def notifier_argv(python, mode, log_path, session, pid_file, stall_seconds, resumed_from=None, look=LOOK_SECONDS):
    """The notifier's command in mode watch or end (see NOTIFIER_CODE)."""
    argv = [python, '-c', NOTIFIER_CODE, mode, command_path(log_path), session, log_path, pid_file,
            str(stall_seconds), str(look), log_patterns()]
    return argv + [resumed_from] if resumed_from else argv
