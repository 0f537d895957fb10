# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The module_utils layers: each imports only its own layer and the ones below it.

    _host     the machine: files, processes, screen sessions, polling, PNG charts
    _torch    Torch7: th, threads, OpenBLAS, the train.lua prelude, the fused LSTM step, the Lua sources
    _charrnn  char-rnn's own knowledge: flags, dataset, log, checkpoints, probe, resume, resources, sampling
    _run      a training run: trainer, state, paths, wrapper, progress, shared options, supervision
    top       one manager per module (_<module>_manager.py) and the supervisor, the unit's process
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import os
import re

import pytest

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = repo_paths.REPO
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')
PACKAGE = 'ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils'
LAYERS = ('_host', '_torch', '_charrnn', '_run')
TOP = len(LAYERS)
TOP_LEVEL_NAME = re.compile(r'^_(\w+_manager|supervisor)\.py$')


def layer_of(relpath):
    """The layer index of a module_util's path under plugins/module_utils."""
    parts = relpath.split(os.sep)
    if len(parts) == 1:
        return TOP
    return LAYERS.index(parts[0])


def module_utils():
    found = []
    for root, dirs, names in os.walk(MODULE_UTILS):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        found.extend(os.path.relpath(os.path.join(root, n), MODULE_UTILS) for n in names if n.endswith('.py'))
    return sorted(found)


def imported_module_utils(path):
    """(line, dotted name under the package) of each module_util this file imports."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            rest = node.module[len(PACKAGE):].lstrip('.')
            for alias in node.names:
                found.append((node.lineno, '.'.join(x for x in (rest, alias.name) if x)))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + '.'):
                    found.append((node.lineno, alias.name[len(PACKAGE) + 1:]))
    return found


def target_layer(dotted):
    first = dotted.split('.')[0]
    return LAYERS.index(first) if first in LAYERS else TOP


def test_every_module_util_sits_in_a_layer():
    strays = [p for p in module_utils()
              if (os.sep not in p and not TOP_LEVEL_NAME.match(p)) or (os.sep in p and p.split(os.sep)[0] not in LAYERS)
              or p.count(os.sep) > 1]
    assert strays == [], ('put each module_util in one of %s, or name a top-level one _<module>_manager.py'
                          % ', '.join(LAYERS))


@pytest.mark.parametrize('relpath', module_utils())
def test_no_import_points_up_a_layer(relpath):
    own = layer_of(relpath)
    upward = ['line %d imports %s' % (line, dotted) for line, dotted in imported_module_utils(os.path.join(MODULE_UTILS, relpath))
              if target_layer(dotted) > own]
    assert upward == [], '%s (layer %s) must not import from a layer above it: %s' % (
        relpath, (LAYERS + ('top',))[own], '; '.join(upward))


def test_the_layer_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('from %s._run import trainer as _trainer\nfrom %s import _train_manager\n' % (PACKAGE, PACKAGE))
    assert [target_layer(d) for dummy, d in imported_module_utils(str(bad))] == [LAYERS.index('_run'), TOP]
