# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Helpers of the integration tests: run the collection's modules through ansible-playbook against localhost,
with the real GNU screen and the stand-in trainer (tests/stand_in_trainer/th).

Environment:
  CHARRNN_ANSIBLE_PLAYBOOK  ansible-playbook to use (default: next to this Python)
  CHARRNN_TARGET_PYTHON     interpreter for the modules (default: this Python)
  ANSIBLE_COLLECTIONS_PATH  used when it already holds ansible_collections/rnn_bootstrap/charrnn
                            for this repo; otherwise a symlink tree is made in the temp dir
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import signal
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from repo_paths import REPO, STAND_IN_TH, collections_root  # noqa: E402,F401  pylint: disable=unused-import

SCREEN = shutil.which('screen')


def ansible_playbook():
    explicit = os.environ.get('CHARRNN_ANSIBLE_PLAYBOOK')
    if explicit:
        return explicit
    cand = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if os.path.exists(cand):
        return cand
    return shutil.which('ansible-playbook')


def screen_sessions(prefix):
    out = subprocess.run([SCREEN, '-ls'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False).stdout.decode()
    found = []
    for line in out.splitlines():
        m = re.match(r'^\s+(\d+)\.(\S+)\s', line)
        if m and m.group(2).startswith(prefix) and 'Dead' not in line:
            found.append('%s.%s' % (m.group(1), m.group(2)))
    return found


def trainer_pids(chdir):
    """pids of processes running train.lua with this working directory."""
    pids = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                argv = f.read().split(b'\0')
            cwd = os.readlink('/proc/%s/cwd' % name)
            with open('/proc/%s/stat' % name) as f:
                zombie = f.read().rsplit(')', 1)[1].split()[0] == 'Z'
        except OSError:
            continue
        if b'train.lua' in argv and cwd == str(chdir) and not zombie:
            pids.append(int(name))
    return pids


def signal_pids(pids, sig=signal.SIGKILL):
    """Send sig to each pid; a process that ended since it was listed is no error."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_trainers(*chdirs):
    """End every trainer running in these working directories, as a machine that is gone would."""
    signal_pids([pid for chdir in chdirs for pid in trainer_pids(chdir)])


class Runner:
    """Runs tasks in one play; each task is registered as rN with ignore_errors, and all
    registered results come back as a list."""

    def __init__(self, tmp_path, prefix):
        self.tmp_path = tmp_path
        self.prefix = prefix
        self.count = 0

    def session(self, name=''):
        return (self.prefix + name)[:80]

    def run(self, tasks, env=None, check=False, hosts=None, forks=None, timeout=150):
        self.count += 1
        base = self.tmp_path / ('play%d' % self.count)
        base.mkdir()
        results = base / 'results.json'
        hosts = hosts or ['localhost']
        inventory = base / 'inventory'
        inventory.write_text(''.join(
            '%s ansible_connection=local ansible_python_interpreter=%s\n'
            % (h, os.environ.get('CHARRNN_TARGET_PYTHON', sys.executable)) for h in hosts))
        play_tasks = []
        for i, task in enumerate(tasks):
            task = dict(task)
            task.setdefault('register', 'r%d' % i)
            task.setdefault('ignore_errors', True)
            play_tasks.append(task)
        names = [t['register'] for t in play_tasks]
        dump = '{{ [%s] | to_json }}' % ', '.join(
            '(hostvars[inventory_hostname][%r] | default({"skipped_or_missing": true}))' % n for n in names)
        play_tasks.append({'name': 'dump results', 'ansible.builtin.copy': {
            'content': dump, 'dest': str(results) + '.{{ inventory_hostname }}'}, 'check_mode': False})
        play = [{'hosts': 'all', 'gather_facts': False, 'environment': env or {}, 'tasks': play_tasks}]
        playbook = base / 'play.yml'
        playbook.write_text(json.dumps(play, indent=1))  # JSON is YAML
        cmd = [ansible_playbook(), '-i', str(inventory), str(playbook)]
        if check:
            cmd.append('--check')
        if forks:
            cmd += ['--forks', str(forks)]
        penv = dict(os.environ)
        penv.update({
            'ANSIBLE_COLLECTIONS_PATH': collections_root(),
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_LOCAL_TEMP': str(base / 'tmp'),
            'ANSIBLE_DEPRECATION_WARNINGS': 'False',
        })
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=penv, timeout=timeout, check=False,
                              cwd=str(base))
        output = proc.stdout.decode('utf-8', 'replace')
        (base / 'output.txt').write_text(output)
        by_host = {}
        for h in hosts:
            path = str(results) + '.' + h
            if not os.path.exists(path):
                raise AssertionError('playbook did not finish (rc %d):\n%s' % (proc.returncode, output[-5000:]))
            with open(path) as f:
                by_host[h] = json.load(f)
        self.last_output = output
        return by_host if len(hosts) > 1 else by_host[hosts[0]]
