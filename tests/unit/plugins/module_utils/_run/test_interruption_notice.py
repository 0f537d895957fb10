# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The interruption notice watcher against fake metadata services on the loopback: EC2's IMDSv2 (a token
first, then 404 until a spot action is scheduled) and GCP's preempted flag."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import signal
import subprocess
import sys
import threading
import time

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # pragma: no cover - Python 2 only
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import interruption_notice as _interruption_notice

TOKEN = 'fake-imds-token'


class FakeMetadata(BaseHTTPRequestHandler):
    """EC2's IMDSv2 under /latest and GCP's preempted flag, each answering only as the real one does."""
    notice = False
    asked = []

    def log_message(self, *args):
        pass

    def answer(self, code, body=''):
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self):
        self.asked.append(('PUT', self.path))
        if self.path == '/latest/api/token' and self.headers.get('X-aws-ec2-metadata-token-ttl-seconds'):
            return self.answer(200, TOKEN)
        return self.answer(400)

    def do_GET(self):
        self.asked.append(('GET', self.path))
        if self.path == '/latest/meta-data/spot/instance-action':
            if self.headers.get('X-aws-ec2-metadata-token') != TOKEN:
                return self.answer(401)
            if not self.notice:
                return self.answer(404)
            return self.answer(200, json.dumps({'action': 'terminate', 'time': '2026-12-07T12:00:00Z'}))
        if self.path == '/computeMetadata/v1/instance/preempted':
            if self.headers.get('Metadata-Flavor') != 'Google':
                return self.answer(403)
            return self.answer(200, 'TRUE' if self.notice else 'FALSE')
        return self.answer(404)


@pytest.fixture
def metadata():
    FakeMetadata.notice = False
    FakeMetadata.asked = []
    server = HTTPServer(('127.0.0.1', 0), FakeMetadata)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    yield 'http://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()
    server.server_close()


def start_watcher(tmp_path, provider, url, **env):
    trainer = subprocess.Popen(['sleep', '60'])
    pid_file = tmp_path / 'train.log.pid'
    pid_file.write_text('%d\n' % trainer.pid)
    log = tmp_path / 'train.log'
    argv = _interruption_notice.watcher_argv(sys.executable, provider, url, str(pid_file), str(log), every=0.1)
    return trainer, subprocess.Popen(argv, env=dict(os.environ, **env)), log


def finish(*procs):
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.parametrize('provider,path,said', [
    ('ec2', '/latest', 'EC2 spot interruption notice (terminate at 2026-12-07T12:00:00Z)'),
    ('gcp', '/computeMetadata/v1/instance/preempted', 'GCP preemption notice'),
])
def test_a_notice_stops_the_trainer_once_and_is_logged(tmp_path, metadata, provider, path, said):
    # a proxy of the environment (here one that answers nothing) is not asked: the metadata service is local
    trainer, watcher, log = start_watcher(tmp_path, provider, metadata + path, http_proxy='http://127.0.0.1:9')
    try:
        time.sleep(1)
        assert trainer.poll() is None and watcher.poll() is None  # asked, no notice yet
        assert len(FakeMetadata.asked) >= 3
        FakeMetadata.notice = True
        assert trainer.wait(timeout=10) == -signal.SIGTERM
        assert watcher.wait(timeout=10) == 0
        assert log.read_text() == '[charrnn] %s: stopping the trainer (pid %d) with a checkpoint\n' % (said, trainer.pid)
    finally:
        finish(trainer, watcher)


def test_an_unreachable_metadata_service_is_logged_once_and_stops_nothing(tmp_path, metadata):
    server = HTTPServer(('127.0.0.1', 0), FakeMetadata)
    closed = 'http://127.0.0.1:%d/latest' % server.server_address[1]
    server.server_close()
    trainer, watcher, log = start_watcher(tmp_path, 'ec2', closed)
    try:
        time.sleep(1.5)
        assert trainer.poll() is None and watcher.poll() is None
        lines = log.read_text().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith('[charrnn] interruption notice watcher: cannot ask %s (' % closed)
        assert lines[0].endswith('); asking again every 0.1 s')
    finally:
        finish(trainer, watcher)


def test_watcher_argv_uses_the_provider_s_own_address_unless_told():
    argv = _interruption_notice.watcher_argv('/usr/bin/python3', 'ec2', '', '/cv/t.log.pid', '/cv/t.log')
    assert argv[:2] == ['/usr/bin/python3', '-c'] and argv[3:] == ['ec2', 'http://169.254.169.254/latest',
                                                                   '/cv/t.log.pid', '/cv/t.log', '5']
    argv = _interruption_notice.watcher_argv('py', 'gcp', 'http://127.0.0.1:1/x/', 'p', 'l', every=1)
    assert argv[3:] == ['gcp', 'http://127.0.0.1:1/x', 'p', 'l', '1']
    assert _interruption_notice.watcher_argv('py', 'none', '', 'p', 'l') is None


@pytest.mark.parametrize('provider,url,fragment', [
    ('aws', '', "interruption_notice must be one of none, ec2, gcp, got 'aws'"),
    ('none', 'http://127.0.0.1:1', 'interruption_notice_url needs interruption_notice ec2 or gcp'),
    ('ec2', '169.254.169.254', "interruption_notice_url must be an http:// or https:// URL, got '169.254.169.254'"),
])
def test_check_names_what_is_wrong(provider, url, fragment):
    assert _interruption_notice.check(provider, url) == fragment


def test_check_accepts_what_can_be_watched():
    assert _interruption_notice.check('none', '') is None
    assert _interruption_notice.check('ec2', '') is None
    assert _interruption_notice.check('gcp', 'http://127.0.0.1:8080/preempted') is None
