# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The watcher of a cloud's interruption notice: on a spot or preemptible machine, the cloud says a little
while before it takes the machine away, and the watcher stops the trainer then, so that it saves the
iteration under way (see _requested_checkpoints) before the machine goes.

EC2 announces a spot interruption two minutes ahead in its instance metadata (IMDSv2: a token from
PUT <base>/api/token, then <base>/meta-data/spot/instance-action answers 404 until an action is
scheduled, then {"action": ..., "time": ...}); GCP's <.../instance/preempted> answers TRUE about thirty
seconds ahead. The watcher runs beside the trainer in its screen session (see _wrapper), asks every
few seconds, and on a notice logs it and sends the trainer SIGTERM once. An unreachable metadata service
is logged once and asked again: it may come up later, and a watcher must never stop training by itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

PROVIDERS = ('none', 'ec2', 'gcp')
DEFAULT_URLS = {
    'ec2': 'http://169.254.169.254/latest',
    'gcp': 'http://metadata.google.internal/computeMetadata/v1/instance/preempted',
}
# EC2's own advice is to ask every five seconds; GCP's thirty seconds leave room for it too.
POLL_SECONDS = 5

# python -c WATCHER_CODE <provider> <url> <trainer pid file> <log> <seconds between looks>
WATCHER_CODE = r'''
import json, os, signal, sys, time
try:
    from urllib.request import ProxyHandler, Request, build_opener
    from urllib.error import HTTPError
except ImportError:
    from urllib2 import ProxyHandler, Request, build_opener, HTTPError
provider, url, pid_file, log_path, every = sys.argv[1:6]


def log(text):
    with open(log_path, 'a') as f:
        f.write('[charrnn] %s\n' % text)


def ask(address, method='GET', **headers):
    request = Request(address, headers=headers)
    request.get_method = lambda: method
    # the metadata service answers on the machine's own link, never through an http_proxy of the environment
    return build_opener(ProxyHandler({})).open(request, timeout=2).read().decode('utf-8', 'replace').strip()


def notice():
    if provider == 'ec2':
        token = ask(url + '/api/token', 'PUT', **{'X-aws-ec2-metadata-token-ttl-seconds': '300'})
        try:
            action = json.loads(ask(url + '/meta-data/spot/instance-action', **{'X-aws-ec2-metadata-token': token}))
        except HTTPError as e:
            if e.code == 404:
                return None
            raise
        return 'EC2 spot interruption notice (%s at %s)' % (action.get('action'), action.get('time'))
    if ask(url, **{'Metadata-Flavor': 'Google'}).upper() == 'TRUE':
        return 'GCP preemption notice'
    return None


unreachable = False
while True:
    try:
        said = notice()
        unreachable = False
    except Exception as e:
        said = None
        if not unreachable:
            log('interruption notice watcher: cannot ask %s (%s); asking again every %s s' % (url, e, every))
        unreachable = True
    if said:
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
            log('%s: stopping the trainer (pid %d) with a checkpoint' % (said, pid))
        except (IOError, OSError, ValueError) as e:
            log('%s: cannot stop the trainer (%s)' % (said, e))
        break
    time.sleep(float(every))
'''


def check(provider, url):
    """Why this provider and URL cannot be watched, or None."""
    if provider not in PROVIDERS:
        return 'interruption_notice must be one of %s, got %r' % (', '.join(PROVIDERS), provider)
    if url and provider == 'none':
        return 'interruption_notice_url needs interruption_notice ec2 or gcp'
    if url and not url.startswith(('http://', 'https://')):
        return 'interruption_notice_url must be an http:// or https:// URL, got %r' % url
    return None


def watcher_argv(python, provider, url, pid_file, log_path, every=POLL_SECONDS):
    """The command that watches for the provider's notice and stops the trainer of pid_file, or None."""
    if provider == 'none':
        return None
    return [python, '-c', WATCHER_CODE, provider, (url or DEFAULT_URLS[provider]).rstrip('/'), pid_file, log_path,
            str(every)]
