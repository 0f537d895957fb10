# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The checkpoint probe: what a checkpoint holds (vocabulary, model, rnn_size, num_layers) and whether a
dataset's vocabulary fits it, read by th before the train module resumes from it and before the sample
module samples it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import shutil
import tempfile

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import lua_sources as _lua_sources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.log import ANSI_RE

# lua/charrnn_probe.lua (carried by _lua_sources), written to a temporary directory for each run.
PROBE_SCRIPT_NAME = 'charrnn_probe.lua'
PROBE_RE = re.compile(r'^CHARRNN_PROBE (load_error|not_charrnn|vocab|model|dataset_vocab|dataset_vocab_error)'
                      r'(?: (.*))?$')


def _byte_set(text):
    return set(int(h, 16) for h in text.split())


def _int_or_none(text):
    try:
        return int(float(text))
    except (TypeError, ValueError):
        return None


def parse_probe_output(out):
    """Everything the probe printed, as a dict: kind ('vocab' for a char-rnn checkpoint, 'load_error',
    'not_charrnn', or None when it printed nothing it knows), detail (the load error), vocab (set of byte
    values), model ({model, rnn_size, num_layers}), dataset_vocab (set, when CHARRNN_VOCAB was given)
    and dataset_vocab_error."""
    if isinstance(out, bytes):
        out = out.decode('utf-8', 'replace')
    info = {'kind': None, 'detail': None, 'vocab': None, 'model': None, 'dataset_vocab': None,
            'dataset_vocab_error': None}
    for line in ANSI_RE.sub('', out).splitlines():
        m = PROBE_RE.match(line.strip())
        if not m:
            continue
        kind, detail = m.group(1), (m.group(2) or '').strip()
        if kind == 'vocab':
            info['kind'], info['vocab'] = 'vocab', _byte_set(detail)
        elif kind == 'model':
            parts = (detail.split() + ['nil', 'nil', 'nil'])[:3]
            info['model'] = {'model': None if parts[0] == 'nil' else parts[0],
                             'rnn_size': _int_or_none(parts[1]), 'num_layers': _int_or_none(parts[2])}
        elif kind == 'dataset_vocab':
            info['dataset_vocab'] = _byte_set(detail)
        elif kind == 'dataset_vocab_error':
            info['dataset_vocab_error'] = detail or 'unreadable'
        elif info['kind'] is None:
            info['kind'], info['detail'] = kind, detail or None
    return info


def parse_probe(out):
    """(kind, detail) from the probe's output: ('vocab', set of byte values), ('load_error', message),
    ('not_charrnn', None), or (None, None) when the probe printed nothing it knows."""
    info = parse_probe_output(out)
    if info['kind'] == 'vocab':
        return 'vocab', info['vocab']
    return info['kind'], info['detail']


def run_probe(run_command, th, chdir, checkpoint, vocab_file=None):
    """Run the probe with th from chdir on checkpoint (and a dataset's vocab.t7); returns (rc, stdout,
    stderr, parse_probe_output(stdout)). run_command is AnsibleModule.run_command."""
    probe_dir = tempfile.mkdtemp(prefix='charrnn-probe-')
    try:
        script = os.path.join(probe_dir, PROBE_SCRIPT_NAME)
        with open(script, 'w') as f:
            f.write(_lua_sources.PROBE_LUA)
        env = dict(_threads.thread_env(1), CHARRNN_CHECKPOINT=checkpoint, CHARRNN_VOCAB=vocab_file or '',
                   TERM='dumb')
        rc, out, err = run_command([th, script], cwd=chdir, environ_update=env)
    finally:
        shutil.rmtree(probe_dir)
    return rc, out, err, parse_probe_output(out)
