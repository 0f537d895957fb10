# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""charrnn_proxy_env and charrnn_torch_pip_index_url reach the tasks that use the network, and the tools
in them use the proxy: a check-mode run of deps, torch and char_rnn on localhost shows the package, git
and build tasks starting through proxy-python (-vvv), and a recording proxy that asks for a password sees
git's and pip's requests with it. The password shows in no command line, output line or file that others
can read. Runs as root only, like the other role tests (the roles own their directories as root)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
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
PASSWORD = 'pr0xy-s3cret-in-no-listing'


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that asks for proxy:PASSWORD (a 407 to a request without it), records the
    first request line of each connection that gives it, and forwards it (CONNECT tunnels and absolute-URI
    requests alike); a host it cannot reach gets a 502."""

    def __init__(self):
        self.requests = []
        self.refused = []
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
        credentials = base64.b64encode(('proxy:' + PASSWORD).encode()).decode()
        if ('proxy-authorization: basic ' + credentials).lower() not in head.decode('latin-1').lower():
            self.refused.append(line)
            client.sendall(b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="t"\r\n'
                           b'Content-Length: 0\r\nConnection: close\r\n\r\n')
            client.close()
            return
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


class CommandLineWatch:
    """Reads every process's command line while a run lasts and keeps those that hold the secret."""

    def __init__(self, secret):
        self.secret = secret.encode()
        self.seen = []
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        while not self._stop.is_set():
            for pid in os.listdir('/proc'):
                if not pid.isdigit():
                    continue
                try:
                    with open('/proc/%s/cmdline' % pid, 'rb') as cmdline:
                        args = cmdline.read()
                except OSError:
                    continue
                self.reads += 1
                if self.secret in args:
                    self.seen.append(args.replace(b'\0', b' ').decode('utf-8', 'replace'))
            self._stop.wait(0.01)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.seen


@pytest.fixture
def proxy():
    recording = RecordingProxy()
    yield recording
    recording.close()


def run_roles(tmp_path, roles, variables, check, verbose=False, env=None):
    """include_role of each (role, tasks_from) in one play on localhost, with the proxy settings in
    tmp_path/proxy, watching every command line for the password; returns (rc, output)."""
    if not ansible_playbook():
        pytest.skip('ansible-playbook not found')
    variables = dict(variables, _charrnn_proxy_dir=str(tmp_path / 'proxy'))
    # In the inventory: an interpreter given with -e would outrank proxy-python.
    (tmp_path / 'inventory').write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    play = [{'name': 'Proxies', 'hosts': 'localhost', 'gather_facts': True,
             'tasks': [{'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.' + role, 'tasks_from': tasks}}
                       for role, tasks in roles]}]
    (tmp_path / 'play.json').write_text(json.dumps(play))
    # The test's own copy of the password, as a controller's vault would keep it.
    (tmp_path / 'vars.json').write_text(json.dumps(variables))
    (tmp_path / 'vars.json').chmod(0o600)
    penv = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
                ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0', **(env or {}))
    cmd = [ansible_playbook(), '-i', str(tmp_path / 'inventory'), str(tmp_path / 'play.json'),
           '-e', '@' + str(tmp_path / 'vars.json')]
    cmd += ['--check'] if check else []
    cmd += ['-vvv'] if verbose else []
    watch = CommandLineWatch(PASSWORD)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=penv, cwd=REPO, check=False)
    finally:
        seen = watch.stop()
    output = proc.stdout.decode('utf-8', 'replace')
    (tmp_path / 'output.txt').write_text(output)
    assert watch.reads > 0
    assert not seen, 'the proxy password was on %d command lines, such as: %s' % (len(seen), seen[0][:400])
    assert PASSWORD not in output, 'the proxy password was in the output'
    assert_no_readable_copy(tmp_path)
    return proc.returncode, output


def assert_no_readable_copy(root):
    """No file under root that others can read holds the password; the settings file is its owner's alone."""
    for directory, _dirs, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            with open(path, 'rb') as handle:
                if PASSWORD.encode() not in handle.read():
                    continue
            assert os.stat(path).st_mode & 0o077 == 0, (path, oct(os.stat(path).st_mode))


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


def proxy_url(proxy):
    return proxy.url.replace('http://', 'http://proxy:%s@' % PASSWORD)


def proxy_env(proxy):
    return {'http_proxy': proxy_url(proxy), 'https_proxy': proxy_url(proxy), 'no_proxy': 'localhost,127.0.0.1'}


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
    starter = str(tmp_path / 'proxy' / 'proxy-python')
    network_tasks = {
        'Refresh the apt package index': [starter],
        'Install the system packages with apt': [starter],
        'Run the build': [starter, 'PIP_INDEX_URL=' + INDEX],
        'Clone or update the checkout at the pinned commit': [starter],
    }
    for task, wanted in network_tasks.items():
        assert commands.get(task), 'task %r did not run on the host:\n%s' % (task, out[-3000:])
        for word in wanted:
            assert any(word in command for command in commands[task]), (task, word, commands[task])
    # Tasks that do not use the network start Python as usual.
    for task in ['Read the build stamp', 'Write the build scripts', 'Create the checkout directory']:
        assert commands.get(task), task
        assert not any(starter in command for command in commands[task]), (task, commands[task])
    assert not any('PIP_INDEX_URL' in command for command in commands['Clone or update the checkout at the pinned commit'])
    # apt's index refresh went through the proxy with its password.
    assert proxy.requests, proxy.refused
    settings = tmp_path / 'proxy' / 'proxy-root.env'
    assert settings.stat().st_mode & 0o777 == 0o600

    # Settings no longer given are removed.
    variables.update(charrnn_proxy_env={})
    # (The tiny repository has no corpus: the run fails later, at the dataset.)
    _rc, out = run_roles(tmp_path, [('char_rnn', 'checkout')], variables, check=False)
    assert 'Remove proxy settings no longer given, of root' in out, out[-3000:]
    assert not settings.exists()


@needs_root
def test_git_clones_through_the_proxy_in_check_mode(tmp_path, proxy):
    variables = charrnn_vars(tmp_path, charrnn_repo='http://git.invalid/karpathy/char-rnn.git',
                             charrnn_version='0123456789abcdef0123456789abcdef01234567',
                             charrnn_proxy_env=proxy_env(proxy))
    rc, out = run_roles(tmp_path, [('char_rnn', 'checkout')], variables, check=True)
    assert rc != 0
    assert 'Cannot check out char-rnn' in out
    assert any(line.startswith('GET http://git.invalid/karpathy/char-rnn.git/info/refs') for line in proxy.requests), \
        (proxy.requests, proxy.refused)


@needs_root
def test_an_interpreter_given_as_an_extra_variable_is_refused_with_proxies(tmp_path, proxy):
    variables = charrnn_vars(tmp_path, charrnn_repo='http://git.invalid/karpathy/char-rnn.git',
                             charrnn_version='0123456789abcdef0123456789abcdef01234567',
                             charrnn_proxy_env=proxy_env(proxy), ansible_python_interpreter=sys.executable)
    rc, out = run_roles(tmp_path, [('char_rnn', 'checkout')], variables, check=True)
    assert rc != 0
    assert 'ansible_python_interpreter is given as an extra variable (-e)' in out, out[-3000:]
    assert not proxy.requests and not proxy.refused


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
    assert any(line.startswith('CONNECT pypi.invalid:443 ') for line in proxy.requests), (proxy.requests, proxy.refused)
