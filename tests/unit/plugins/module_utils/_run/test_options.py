# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.doc_fragments.training_run import ModuleDocFragment
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import options as _options


def _documented(*variants):
    # ansible-core brings PyYAML; the oldest target Python's test environment has only pytest
    yaml = pytest.importorskip('yaml')
    options = {}
    for variant in variants:
        options.update(yaml.safe_load(getattr(ModuleDocFragment, variant))['options'])
    return options


@pytest.mark.parametrize('kwargs,variants', [
    ({}, ['DOCUMENTATION']),
    ({'savefile': True}, ['DOCUMENTATION', 'SAVEFILE']),
    ({'torch': True}, ['DOCUMENTATION', 'TORCH']),
    ({'savefile': True, 'torch': True}, ['DOCUMENTATION', 'SAVEFILE', 'TORCH']),
])
def test_the_spec_is_what_the_fragment_documents(kwargs, variants):
    spec = _options.argument_spec(**kwargs)
    docs = _documented(*variants)
    assert sorted(spec) == sorted(docs)
    for name, option in spec.items():
        assert option['type'] == docs[name]['type'], name
        assert option.get('default') == docs[name].get('default'), name


def test_a_module_adds_its_own_options_and_may_change_a_shared_one():
    spec = _options.argument_spec(savefile=True, wait=dict(type='str'), chdir=dict(type='path'))
    assert spec['wait'] == dict(type='str') and spec['chdir'] == dict(type='path')
    assert spec['savefile'] == dict(type='str', default='lstm')


@pytest.mark.parametrize('params,fragment', [
    ({'session': 'a b'}, 'not a usable screen session name'),
    ({'session': 'ok', 'savefile': 'a/b'}, "savefile 'a/b' is not a valid char-rnn savefile name"),
    ({'session': 'ok', 'gpuid': -2}, 'gpuid must be -1 (CPU) or a GPU index >= 0, got -2'),
    ({'session': 'ok', 'gpuid': -1, 'threads': 0}, 'threads must be >= 1, got 0'),
])
def test_check_names_the_problem(params, fragment):
    assert fragment in _options.check(params)


def test_check_then_asks_the_module_s_own_checks_in_order():
    params = {'session': 'charrnn', 'timeout': -1}
    assert _options.check(params, (False, 'not this'), (params['timeout'] < 0, 'timeout'), (True, 'later')) \
        == 'timeout'
    assert _options.check(dict(params, session='a b'), (True, 'own')).startswith("session 'a b'")


def test_check_passes_good_values_of_the_options_a_module_has():
    assert _options.check({'session': 'charrnn'}) is None
    assert _options.check({'session': 'charrnn', 'savefile': 'lstm.run2', 'gpuid': 0, 'threads': None}) is None


def test_root_is_refused_in_a_checkout_another_user_owns(monkeypatch, tmp_path):
    monkeypatch.setattr(_options.os, 'geteuid', lambda: 0)
    owned = os.stat(str(tmp_path)).st_uid
    if owned == 0:
        monkeypatch.setattr(_options.os, 'stat', lambda path: os.stat_result((0o40755, 0, 0, 0, 4242, 4242, 0, 0, 0, 0)))
    err = _options.check({'session': 'charrnn', 'chdir': str(tmp_path)})
    assert err.startswith('this module runs as root in %s, which ' % tmp_path)
    assert 'Run it as ' in err


def test_root_in_its_own_checkout_and_any_other_user_pass(monkeypatch, tmp_path):
    monkeypatch.setattr(_options.os, 'stat', lambda path: os.stat_result((0o40755, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
    monkeypatch.setattr(_options.os, 'geteuid', lambda: 0)
    assert _options.check({'session': 'charrnn', 'chdir': str(tmp_path)}) is None
    monkeypatch.undo()
    monkeypatch.setattr(_options.os, 'geteuid', lambda: 1000)
    assert _options.check({'session': 'charrnn', 'chdir': str(tmp_path)}) is None


def test_log_path_rule():
    assert _options.log_path({'log_path': None, 'session': 's'}, '/opt/r', '/opt/r/cv') == '/opt/r/cv/train-s.log'
    assert _options.log_path({'log_path': 'logs/x.log', 'session': 's'}, '/opt/r', '/opt/r/cv') == \
        os.path.join('/opt/r', 'logs', 'x.log')
