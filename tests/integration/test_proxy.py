# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""charrnn_proxy_env and charrnn_torch_pip_index_url reach the tasks that use the network, and the tools
in them use the proxy: a check-mode run of deps, torch and char_rnn on localhost shows the variables in
the command that runs each package, git and build task (-vvv), and a recording proxy sees git's and
pip's requests. Runs as root only, like the other role tests (the roles own their directories as root)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import select
import socket
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import ansible_playbook, collections_root  # noqa: E402
from test_role_failures import charrnn_vars, needs_root, tiny_repo, torch_vars  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INDEX = 'https://pypi.invalid/simple/'


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that records the first request line of each connection and forwards it
    (CONNECT tunnels and absolute-URI requests alike); a host it cannot reach gets a 502."""

    def __init__(self):
        self.requests = []
        self.server = socket.socket()
        self.server.bind(('127.0.0.1', 0))
        self.server.listen(16)
        self.url = 'http://127.0.0.1:%d' % self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _addr = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = client.recv(65536)
            if not chunk:
                client.close()
                return
            head += chunk
        line = head.split(b'\r\n', 1)[0].decode('latin-1')
        self.requests.append(line)
        method, target = line.split(' ')[:2]
        if method == 'CONNECT':
            host, port = target.rsplit(':', 1)
        else:
            match = re.match(r'http://([^/:]+)(?::(\d+))?', target)
            host, port = match.group(1), match.group(2) or '80'
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            client.sendall(b'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
            client.close()
            return
        if method == 'CONNECT':
            client.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
        else:
            upstream.sendall(head)  # origin servers accept the absolute form
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(one, other):
        try:
            while True:
                readable = select.select([one, other], [], [], 60)[0]
                if not readable:
                    break
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (other if sock is one else one).sendall(data)
        except OSError:
            pass
        finally:
            one.close()
            other.close()

    def close(self):
        self.server.close()


@pytest.fixture
def proxy():
    recording = RecordingProxy()
    yield recording
    recording.close()


def run_roles(tmp_path, roles, variables, check, verbose=False, env=None):
    """include_role of each (role, tasks_from) in one play on localhost; returns (rc, output)."""
    if not ansible_playbook():
        pytest.skip('ansible-playbook not found')
    play = [{'name': 'Proxies', 'hosts': 'localhost', 'gather_facts': True,
             'tasks': [{'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.' + role, 'tasks_from': tasks}}
                       for role, tasks in roles]}]
    (tmp_path / 'play.json').write_text(json.dumps(play))
    (tmp_path / 'vars.json').write_text(json.dumps(variables))
    penv = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
                ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0', **(env or {}))
    cmd = [ansible_playbook(), '-i', 'localhost,', '-c', 'local', str(tmp_path / 'play.json'),
           '-e', 'ansible_python_interpreter=' + sys.executable, '-e', '@' + str(tmp_path / 'vars.json')]
    cmd += ['--check'] if check else []
    cmd += ['-vvv'] if verbose else []
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=penv, cwd=REPO, check=False)
    output = proc.stdout.decode('utf-8', 'replace')
    (tmp_path / 'output.txt').write_text(output)
    return proc.returncode, output


def task_commands(output):
    """Task name -> the commands -vvv shows ansible running on the host for it (EXEC lines)."""
    commands = {}
    name = None
    for line in output.splitlines():
        match = re.match(r'TASK \[(?:[\w.]+ : )?(.*?)\]', line)
        if match:
            name = match.group(1)
            commands.setdefault(name, [])
        elif name and re.match(r'<[^>]+> EXEC ', line):
            commands[name].append(line)
    return commands


def proxy_env(proxy):
    return {'http_proxy': proxy.url, 'https_proxy': proxy.url, 'no_proxy': 'localhost,127.0.0.1'}


@needs_root
def test_check_mode_gives_the_proxies_to_package_git_and_build_tasks_only(tmp_path, proxy):
    mirror = tmp_path / 'mirror'
    commit = tiny_repo(mirror / 'karpathy' / 'char-rnn.git')
    variables = torch_vars(tmp_path)
    variables.update(charrnn_vars(tmp_path, charrnn_version=commit, charrnn_git_mirror='file://%s/' % mirror))
    variables.update(charrnn_proxy_env=proxy_env(proxy), charrnn_torch_pip_index_url=INDEX)
    rc, out = run_roles(tmp_path, [('deps', 'main'), ('torch', 'main'), ('char_rnn', 'checkout')], variables,
                        check=True, verbose=True)
    assert rc == 0, out[-3000:]
    commands = task_commands(out)
    proxies = ['http_proxy=%s' % proxy.url, 'https_proxy=%s' % proxy.url, 'no_proxy=localhost,127.0.0.1']
    network_tasks = {
        'Refresh the apt package index': proxies,
        'Install the system packages with apt': proxies,
        'Run the build': proxies + ['PIP_INDEX_URL=' + INDEX],
        'Clone or update the checkout at the pinned commit': proxies,
    }
    for task, wanted in network_tasks.items():
        assert commands.get(task), 'task %r did not run on the host:\n%s' % (task, out[-3000:])
        for variable in wanted:
            assert any(variable in command for command in commands[task]), (task, variable, commands[task])
    # Tasks that do not use the network run without them.
    for task in ['Read the build stamp', 'Write the build scripts', 'Create the checkout directory']:
        assert commands.get(task), task
        assert not any('_proxy=' in command for command in commands[task]), (task, commands[task])
    assert not any('PIP_INDEX_URL' in command for command in commands['Clone or update the checkout at the pinned commit'])


@needs_root
def test_git_clones_through_the_proxy_in_check_mode(tmp_path, proxy):
    variables = charrnn_vars(tmp_path, charrnn_repo='http://git.invalid/karpathy/char-rnn.git',
                             charrnn_version='0123456789abcdef0123456789abcdef01234567',
                             charrnn_proxy_env=proxy_env(proxy))
    rc, out = run_roles(tmp_path, [('char_rnn', 'checkout')], variables, check=True)
    assert rc != 0
    assert 'Cannot check out char-rnn' in out
    assert any(line.startswith('GET http://git.invalid/karpathy/char-rnn.git/info/refs') for line in proxy.requests), \
        proxy.requests


@needs_root
def test_the_cmake_fallback_asks_the_index_through_the_proxy(tmp_path, proxy):
    # A CMake 4 first on PATH sends the build to pip; the host's pip configuration is left out so that
    # only the role can name the index.
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    (fake_bin / 'cmake').write_text('#!/bin/sh\necho "cmake version 4.0.3"\n')
    (fake_bin / 'cmake').chmod(0o755)
    # Any variable the tools read can go with the proxies: here pip's, to fail without retrying.
    variables = torch_vars(tmp_path, charrnn_git_mirror='file://%s/nowhere/' % tmp_path,
                           charrnn_proxy_env=dict(proxy_env(proxy), PIP_RETRIES='0'),
                           charrnn_torch_pip_index_url=INDEX)
    rc, out = run_roles(tmp_path, [('torch', 'main')], variables, check=False,
                        env={'PATH': '%s:%s' % (fake_bin, os.environ['PATH']), 'PIP_CONFIG_FILE': os.devnull})
    assert rc != 0
    assert "pip could not install 'cmake==3.31.10' (charrnn_torch_cmake_pip_spec, charrnn_torch_cmake_pip_hashes)" in out, out[-3000:]
    # pip tunnels to the index the role names, through the proxy.
    assert any(line.startswith('CONNECT pypi.invalid:443 ') for line in proxy.requests), proxy.requests
