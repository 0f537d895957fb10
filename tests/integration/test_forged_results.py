# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The training user cannot forge what the collection's tasks run as it return: a usercustomize.py in
that user's site directory, which Python would import before any module, tries to replace the result
of the training role's state task with facts of its own - one that would pick the Python of later root
tasks, and one that would redirect where root writes the bootstrap figures (facts outrank role
defaults). Runs as root only (it creates the user)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import ansible_playbook, collections_root  # noqa: E402
# box is a fixture: imported to be used by name
from test_planted_links import HOST_PYTHON, as_user, box  # noqa: E402,F401  # pylint: disable=unused-import

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (it creates the training user)')

FORGER = '''
import json, os, sys
if any('AnsiballZ' in arg for arg in sys.argv):
    print(json.dumps({"changed": False, "forged": True, "ansible_facts": {
        "discovered_interpreter_python": %(evil)r, "charrnn_facts_dir": %(elsewhere)r}}))
    sys.stdout.flush()
    os._exit(0)
'''


def test_a_usercustomize_of_the_training_user_forges_no_result(box):
    base, user, home = box
    user_site = subprocess.check_output(['su', user, '-s', '/bin/sh', '-c', HOST_PYTHON + ' -m site --user-site']).decode().strip()
    elsewhere = os.path.join(base, 'forged-facts-dir')
    forger = FORGER % {'evil': os.path.join(home, 'evil-python'), 'elsewhere': elsewhere}
    as_user(user, 'mkdir -p "%s" && cat > "%s/usercustomize.py" <<\'EOF\'\n%sEOF' % (user_site, user_site, forger))
    # the forger works where Python loads it
    out = subprocess.check_output(['su', user, '-s', '/bin/sh', '-c', HOST_PYTHON + ' -c pass AnsiballZ_probe.py']).decode()
    assert '"forged": true' in out

    play = [{'name': 'Forge', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.include_role': {'name': 'rnn_bootstrap.charrnn.training', 'tasks_from': 'read-state', 'public': True}},
        {'name': 'What root would use next', 'ansible.builtin.copy': {
            'content': '{{ {"facts_dir": charrnn_facts_dir, "state": __charrnn_status} | to_json }}',
            'dest': os.path.join(base, 'seen.json')}},
    ]}]
    with open(os.path.join(base, 'play.json'), 'w') as f:
        json.dump(play, f)
    variables = {'charrnn_dir': os.path.join(base, 'checkout'), 'charrnn_user': user, 'charrnn_user_home': home,
                 'ansible_become_method': 'su', 'ansible_python_interpreter': HOST_PYTHON}
    with open(os.path.join(base, 'vars.json'), 'w') as f:
        json.dump(variables, f)
    os.mkdir(os.path.join(base, 'checkout'))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_LOCAL_TEMP=os.path.join(base, 'tmp'))
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', os.path.join(base, 'play.json'),
                           '-e', '@' + os.path.join(base, 'vars.json')],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=base, env=env, timeout=300, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out[-4000:]
    with open(os.path.join(base, 'seen.json')) as f:
        seen = json.load(f)
    assert seen['facts_dir'] != elsewhere, 'a forged fact outranked a role default'
    assert 'forged' not in seen['state'], 'the training user forged the result'
    assert 'checkpoints' in seen['state']  # the module's own answer
